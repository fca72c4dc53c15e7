#!/usr/bin/env bash
# Packs the solution and checks what a consumer of the packages gets: no pack warnings; per package a readme, the MIT
# licence, XML docs beside every assembly, a symbol package (.snupkg) with a PDB per assembly, SourceLink (when the
# repository has a remote to link to), dependency versions of the target framework's own line (net8.0 -> 8.x,
# net10.0 -> 10.x for Microsoft.Extensions.*) with no upper bounds, and the analyzers inside Cachify.
# Usage: eng/check-packages.sh [extra dotnet pack arguments, e.g. --no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
packages="$work/packages"
failures=0
checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { checks=$((checks + 1)); }
check() { # check "description" command...
  local what="$1"; shift
  if "$@"; then pass; else fail "$what"; fi
}

echo "check-packages: dotnet pack Cachify.sln -c Release $*"
if ! dotnet pack Cachify.sln -c Release -p:PackageOutputPath="$packages" "$@" >"$work/pack.log" 2>&1; then
  cat "$work/pack.log"
  echo "check-packages: dotnet pack failed"
  exit 1
fi

# MSBuild prints warnings as "...: warning CODE: ..." or "...: warning : ..." (and sums them up at the end).
warnings="$(grep -E ': warning( [A-Z]+[0-9]+)? ?:' "$work/pack.log" | sort -u || true)"
check "dotnet pack printed warnings:
$warnings" test -z "$warnings"

# SourceLink can only link to a hosted repository; a clone of a local folder (as in CI) has nothing to link to.
origin="$(git remote get-url origin 2>/dev/null || true)"
if ! grep -qE '^(https://|git@)(github\.com|gitlab\.com|bitbucket\.org|dev\.azure\.com)[:/]' <<<"$origin"; then
  origin=""
fi

# Not grep -q: it would stop reading early and fail the pipeline (pipefail) with unzip's SIGPIPE.
has() { unzip -Z1 "$1" | grep -xF "$2" >/dev/null; }

for id in Cachify Cachify.Redis Cachify.Distributed Cachify.OpenTelemetry; do
  nupkg="$(ls "$packages/$id".[0-9]*.nupkg 2>/dev/null | head -n 1 || true)"
  snupkg="${nupkg%.nupkg}.snupkg"
  if [ -z "$nupkg" ]; then fail "$id: no .nupkg"; continue; fi
  version="$(basename "$nupkg" .nupkg)"; version="${version#"$id".}"
  nuspec="$(unzip -p "$nupkg" "$id.nuspec")"

  check "$id: <readme> names README.md" grep -q '<readme>README.md</readme>' <<<"$nuspec"
  check "$id: README.md in the package" has "$nupkg" README.md
  # A package page follows no relative link or image: the readme (the project's PACKAGE.md) links absolutely.
  relative="$(unzip -p "$nupkg" README.md | grep -oE '\]\([^)]*\)' | grep -vE '^\]\(https://' || true)"
  check "$id: README.md links that a package page cannot follow: $relative" test -z "$relative"
  check "$id: licence expression MIT" grep -q '<license type="expression">MIT</license>' <<<"$nuspec"
  check "$id: LICENSE in the package" has "$nupkg" LICENSE
  check "$id: symbol package $snupkg" test -f "$snupkg"

  assemblies="$(unzip -Z1 "$nupkg" | grep -E '^lib/[^/]+/[^/]+\.dll$' || true)"
  check "$id: no assemblies under lib/" test -n "$assemblies"
  for dll in $assemblies; do
    check "$id: XML docs for $dll" has "$nupkg" "${dll%.dll}.xml"
    pdb="${dll%.dll}.pdb"
    if [ -f "$snupkg" ] && has "$snupkg" "$pdb"; then
      pass
      if [ -n "$origin" ]; then
        # A portable PDB with SourceLink holds its JSON map ({"documents":{...}}) as UTF-8.
        check "$id: SourceLink map in $pdb" grep -aq '"documents"' <(unzip -p "$snupkg" "$pdb")
      fi
    else
      fail "$id: $pdb missing from the symbol package"
    fi
  done
  if [ -n "$origin" ]; then
    check "$id: <repository url> set" grep -q '<repository [^>]*url="' <<<"$nuspec"
  fi

  # Dependencies: a minimum version only (no exact pins, upper bounds or floating versions); Microsoft.Extensions.*
  # from the target framework's own major version, so an app never gets a newer major than its runtime.
  while IFS= read -r line; do
    case "$line" in
      *'<group targetFramework="'*)
        tfm="$(sed -E 's/.*targetFramework="([^"]+)".*/\1/' <<<"$line")"
        major="$(sed -E 's/^net([0-9]+)\..*/\1/' <<<"$tfm")" ;;
      *'<dependency '*)
        dep="$(sed -E 's/.* id="([^"]+)".*/\1/' <<<"$line")"
        range="$(sed -E 's/.* version="([^"]+)".*/\1/' <<<"$line")"
        check "$id ($tfm): $dep $range is not a plain minimum version" grep -qE '^[0-9]+(\.[0-9]+){1,3}(-[0-9A-Za-z.-]+)?$' <<<"$range"
        case "$dep" in
          Microsoft.Extensions.*)
            check "$id ($tfm): $dep $range is not from the $major.x line" test "${range%%.*}" = "$major" ;;
          Cachify)
            check "$id ($tfm): depends on Cachify $range, not $version" test "$range" = "$version" ;;
        esac ;;
    esac
  done < <(grep -E '<group |<dependency ' <<<"$nuspec")

  if [ "$id" = Cachify ]; then
    check "Cachify: analyzers/dotnet/cs/Cachify.Analyzers.dll" has "$nupkg" analyzers/dotnet/cs/Cachify.Analyzers.dll
    check "Cachify: analyzers/dotnet/cs/Cachify.Analyzers.CodeFixes.dll" has "$nupkg" analyzers/dotnet/cs/Cachify.Analyzers.CodeFixes.dll
  fi
done

# The analyzers work where it counts: a new app that references the package (from a folder feed) gets every warning.
# Its own package folder, so the 1.0.0 under test never lands in (or comes from) the machine's package cache, which
# serves as a read-only feed for the rest.
consumer="$work/consumer"
mkdir -p "$consumer"
cache="$(dotnet nuget locals global-packages --list | sed -E 's/^[^:]*: *//')"
cat >"$consumer/NuGet.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="cachify-under-test" value="$packages" />
    <add key="machine-cache" value="$cache" />
  </packageSources>
</configuration>
XML
cat >"$consumer/Consumer.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <RestorePackagesPath>$consumer/packages</RestorePackagesPath>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Cachify.Redis" Version="$(ls "$packages"/Cachify.Redis.[0-9]*.nupkg | sed -E 's/.*Cachify\.Redis\.(.*)\.nupkg/\1/')" />
  </ItemGroup>
</Project>
XML
cat >"$consumer/Program.cs" <<'CS'
using CachifyNet;

var square = Cachify.Wrap((int x) => x * x);
square.Ttl(TimeSpan.FromSeconds(1));
var lookup = Cachify.Wrap((int id, string culture) => $"{id}:{culture}").IgnoreArgs("cultur");
var keyed = Cachify.Wrap((int a, int b) => a + b).IgnoreArgs("b").KeyBy((a, b) => a.ToString());
var value = Cachify.Wrap((int id) => new ValueTask<int>(id));
Console.WriteLine(square.Invoke(3));
CS
if dotnet build "$consumer/Consumer.csproj" -c Release >"$work/consumer.log" 2>&1; then
  for id in CACHIFY001 CACHIFY002 CACHIFY003 CACHIFY004; do
    check "a consumer of the package (Cachify.Redis only) gets $id" grep -q "warning $id" "$work/consumer.log"
  done
else
  cat "$work/consumer.log"
  fail "the consumer app did not build"
fi

others="$(ls "$packages" | grep -vE '^Cachify(\.Redis|\.Distributed|\.OpenTelemetry)?\.[0-9].*\.s?nupkg$' || true)"
check "unexpected packages (mark the project IsPackable=false): $others" test -z "$others"

if [ -z "$origin" ]; then
  echo "check-packages: SourceLink not checked: the remote 'origin' is not a hosted repository that sources can link to"
fi
echo "check-packages: $checks passed, $failures failed"
[ "$failures" -eq 0 ]
