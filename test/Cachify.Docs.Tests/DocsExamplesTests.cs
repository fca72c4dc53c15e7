using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace CachifyNet.Docs.Tests;

/// <summary>
/// Every C# block of README.md, CONTRIBUTING.md and docs/*.md compiles against the real Cachify assemblies, so the docs
/// cannot drift from the API. Each block is compiled on its own, with
/// <list type="bullet">
/// <item>the implicit usings of an ASP.NET Core app (System, System.Linq, Microsoft.Extensions.DependencyInjection, ...),</item>
/// <item>the using directives of the blocks above it in the same file (a page is read top to bottom),</item>
/// <item><c>DocStubs.cs</c>: the names a snippet takes as given (<c>repo</c>, <c>db</c>, <c>User</c>, <c>builder</c>, ...).</item>
/// </list>
/// Cachify's analyzers run too: a block may show a CACHIFY warning only when the comment line before its fence says
/// so, <c>&lt;!-- docs: expect CACHIFY001 --&gt;</c>; <c>&lt;!-- docs: skip --&gt;</c> leaves a block out.
/// </summary>
public sealed partial class DocsExamplesTests
{
    private static readonly string[] ImplicitUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Net.Http.Json",
        "System.Threading", "System.Threading.Tasks", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Http", "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration",
        "Microsoft.Extensions.DependencyInjection", "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(LoadReferences);

    private static readonly Lazy<ImmutableArray<DiagnosticAnalyzer>> Analyzers = new(LoadAnalyzers);

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    public static TheoryData<string> Files() => [.. MarkdownDocs.Files, .. MarkdownDocs.PackageReadmes];

    [Theory]
    [MemberData(nameof(Files))]
    public async Task CSharpBlocks_Compile(string file)
    {
        var failures = new List<string>();
        var usings = new List<string>();
        foreach (var block in MarkdownDocs.Blocks(file).Where(b => b.Language is "csharp" or "cs" or "c#"))
        {
            var tree = CSharpSyntaxTree.ParseText(block.Code, ParseOptions, path: block.File);
            var root = (CompilationUnitSyntax)await tree.GetRootAsync();
            var ownUsings = root.Usings.Select(u => u.ToString()).ToList();
            if (block.Marker.StartsWith("skip", StringComparison.Ordinal))
            {
                usings.AddRange(ownUsings);
                continue;
            }
            failures.AddRange(await CheckAsync(block, tree, root, usings));
            usings.AddRange(ownUsings);
        }
        Assert.True(failures.Count == 0, $"{file}: {failures.Count} problem(s) in its C# blocks:\n" + string.Join("\n", failures));
    }

    [Fact]
    public void Docs_HaveCSharpBlocksToCheck()
    {
        // Guards the test above against a parser that finds nothing.
        var blocks = MarkdownDocs.Files.SelectMany(MarkdownDocs.Blocks).Count(b => b.Language == "csharp");
        Assert.True(blocks >= 15, $"found only {blocks} C# blocks in {string.Join(", ", MarkdownDocs.Files)}");
    }

    [Fact]
    public async Task Check_ABlockThatDoesNotCompile_FailsWithItsFileAndLine()
    {
        var block = new CodeBlock("docs/example.md", 10, "csharp", "using CachifyNet;\n\nvar f = Cachify.Wrap((int x) => x).Ttll(TimeSpan.FromSeconds(1));\n", "");
        var tree = CSharpSyntaxTree.ParseText(block.Code, ParseOptions, path: block.File);

        var failures = await CheckAsync(block, tree, (CompilationUnitSyntax)await tree.GetRootAsync(), []);

        var failure = Assert.Single(failures);
        Assert.StartsWith("docs/example.md:12: CS1061", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_AnUnexpectedAnalyzerWarning_FailsAndAnExpectedOnePasses()
    {
        const string code = "using CachifyNet;\n\nvar f = Cachify.Wrap((int x) => x);\nf.Ttl(TimeSpan.FromSeconds(1));\n";
        var tree = CSharpSyntaxTree.ParseText(code, ParseOptions, path: "docs/example.md");
        var root = (CompilationUnitSyntax)await tree.GetRootAsync();

        var unmarked = await CheckAsync(new CodeBlock("docs/example.md", 1, "csharp", code, ""), tree, root, []);
        var marked = await CheckAsync(new CodeBlock("docs/example.md", 1, "csharp", code, "expect CACHIFY001"), tree, root, []);

        Assert.Contains(unmarked, f => f.Contains("CACHIFY001", StringComparison.Ordinal));
        Assert.Empty(marked);
    }

    private static async Task<List<string>> CheckAsync(CodeBlock block, SyntaxTree tree, CompilationUnitSyntax root, IEnumerable<string> usings)
    {
        var prelude = new StringBuilder();
        foreach (var ns in ImplicitUsings)
        {
            prelude.Append("global using global::").Append(ns).Append(";\n");
        }
        foreach (var directive in usings.Distinct(StringComparer.Ordinal))
        {
            prelude.Append("global ").Append(directive).Append('\n');
        }
        prelude.Append("global using static DocStubs;\n");

        var executable = root.Members.OfType<GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create(
            "DocBlock",
            [
                CSharpSyntaxTree.ParseText(prelude.ToString(), ParseOptions, path: "prelude.cs"),
                CSharpSyntaxTree.ParseText(Stubs.Value, ParseOptions, path: "DocStubs.cs"),
                tree,
            ],
            References.Value,
            new CSharpCompilationOptions(
                executable ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable));

        var expected = ExpectedIds().Matches(block.Marker).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        var diagnostics = await compilation.WithAnalyzers(Analyzers.Value).GetAllDiagnosticsAsync();
        var failures = new List<string>();
        foreach (var d in diagnostics)
        {
            var isCachify = d.Id.StartsWith("CACHIFY", StringComparison.Ordinal);
            if (d.Severity != DiagnosticSeverity.Error && !(isCachify && !expected.Contains(d.Id)))
            {
                continue;
            }
            failures.Add(Describe(block, d));
        }
        foreach (var id in expected.Where(id => !diagnostics.Any(d => d.Id == id)))
        {
            failures.Add($"{block}: the marker expects {id}, which the analyzers did not report");
        }
        return failures;
    }

    private static string Describe(CodeBlock block, Diagnostic d)
    {
        var span = d.Location.GetLineSpan();
        if (d.Location.SourceTree?.FilePath == block.File)
        {
            return $"{block.File}:{block.Line + span.StartLinePosition.Line}: {d.Id}: {d.GetMessage()}";
        }
        // An error in the prelude or the stubs: name the block it showed up in.
        return $"{block} ({span.Path}:{span.StartLinePosition.Line + 1}): {d.Id}: {d.GetMessage()}";
    }

    private static readonly Lazy<string> Stubs = new(() =>
    {
        using var stream = typeof(DocsExamplesTests).Assembly.GetManifestResourceStream("DocStubs.cs")
            ?? throw new InvalidOperationException("DocStubs.cs is not embedded in the test assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // The test process runs on the assemblies of this project (the framework, ASP.NET Core, Cachify, Cachify.Redis,
        // StackExchange.Redis, OpenTelemetry, ...): compile against the same set.
        var paths = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return [.. paths.Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)).Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }

    private static ImmutableArray<DiagnosticAnalyzer> LoadAnalyzers()
    {
        var assembly = Assembly.Load("Cachify.Analyzers");
        return [.. assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t))
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t, nonPublic: true)!)];
    }

    [GeneratedRegex(@"CACHIFY\d{3}")]
    private static partial Regex ExpectedIds();
}
