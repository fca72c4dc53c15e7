using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace CachifyNet.WebApi.Tests;

/// <summary>
/// <c>AddCachifyInstrumentation()</c> (package Cachify.OpenTelemetry), and docs/observability.md: its snippet is the sample
/// app's Program.cs, which this project compiles and <see cref="WebApiTests"/> runs (it scrapes /metrics).
/// </summary>
public class ObservabilityTests
{
    [Fact]
    public void Docs_Snippet_IsTheCompiledSampleProgram()
    {
        var root = RepositoryRoot();
        var program = Normalize(File.ReadAllText(Path.Combine(root, "samples", "Cachify.WebApi", "Program.cs")));
        var docs = Normalize(File.ReadAllText(Path.Combine(root, "docs", "observability.md")));

        Assert.Contains("```csharp\n" + program + "```\n", docs, StringComparison.Ordinal);
        Assert.Contains("AddCachifyInstrumentation()", program, StringComparison.Ordinal);
        Assert.Contains("MapPrometheusScrapingEndpoint", program, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tracing_AddCachifyInstrumentation_RecordsOneSpanPerExecution()
    {
        var spans = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddCachifyInstrumentation().AddProcessor(new Collect(spans)).Build())
        {
            using var backend = new MemoryCacheBackend();
            var f = Cachify.Wrap((int id, CancellationToken ct) => Task.FromResult(id)).Named("otel.trace").Backend(backend);
            await f.Invoke(1);
            await f.Invoke(1);                                                // a hit: no span
        }

        var span = Assert.Single(spans, s => (string?)s.GetTagItem(CachifyTelemetry.FunctionTag) == "otel.trace");
        Assert.Equal("cachify.execute", span.OperationName);
        Assert.Equal(CachifyTelemetry.Name, span.Source.Name);
    }

    [Fact]
    public void AddCachifyInstrumentation_NullBuilder_Throws()
    {
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => ((MeterProviderBuilder)null!).AddCachifyInstrumentation()).ParamName);
        Assert.Equal("builder", Assert.Throws<ArgumentNullException>(() => ((TracerProviderBuilder)null!).AddCachifyInstrumentation()).ParamName);
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd() + "\n";

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cachify.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Cachify.sln not found above " + AppContext.BaseDirectory);
    }

    private sealed class Collect(List<Activity> spans) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data)
        {
            lock (spans)
            {
                spans.Add(data);
            }
        }
    }
}
