using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Running;
using CachifyNet.Benchmarks.Infrastructure;

namespace CachifyNet.Benchmarks;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--retained"))
        {
            return RetainedMemory.Run(args);
        }

        // Metrics measured inside benchmark processes (see RecordedMetric) go to a fresh folder per run.
        var metrics = Path.Combine(Path.GetTempPath(), "cachify-bench-metrics-" + Environment.ProcessId);
        Environment.SetEnvironmentVariable(RecordedMetric.DirectoryVariable, metrics);

        // DefaultConfig already exports GitHub markdown, CSV and HTML to BenchmarkDotNet.Artifacts/results.
        var config = DefaultConfig.Instance.AddExporter(JsonExporter.Brief);
        try
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
            return 0;
        }
        finally
        {
            if (Directory.Exists(metrics))
            {
                Directory.Delete(metrics, recursive: true);
            }
        }
    }
}
