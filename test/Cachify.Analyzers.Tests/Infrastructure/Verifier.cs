using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace CachifyNet.Analyzers.Tests;

/// <summary>
/// Runs <see cref="CachifyAnalyzer"/> (and a code fix) over a source that uses the real Cachify assembly, against the
/// .NET 10 reference assemblies shipped in a package, so no test downloads anything.
/// </summary>
internal static class Verifier<TCodeFix>
    where TCodeFix : CodeFixProvider, new()
{
    private const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using CachifyNet;

        """;

    /// <summary>Expects exactly the diagnostics marked in <paramref name="source"/> (<c>{|CACHIFY001:Ttl|}</c>) and no fix.</summary>
    public static Task DiagnosticsAsync(string source, params DiagnosticResult[] expected) => FixAsync(source, source, expected);

    /// <summary>Expects the marked diagnostics in <paramref name="source"/>, and <paramref name="fixedSource"/> after every fix.</summary>
    public static Task FixAsync(string source, string fixedSource, params DiagnosticResult[] expected)
    {
        var test = new CSharpCodeFixTest<CachifyAnalyzer, TCodeFix, DefaultVerifier>
        {
            TestCode = Usings + source,
            FixedCode = Usings + fixedSource,
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"),
        };
        test.TestState.AdditionalReferences.AddRange(Basic.Reference.Assemblies.Net100.References.All);
        test.TestState.AdditionalReferences.Add(MetadataReference.CreateFromFile(typeof(Cachify).Assembly.Location));
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    public static DiagnosticResult Diagnostic(string id) => new(id, DiagnosticSeverity.Warning);
}
