using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// A value measured inside a benchmark process (executions per stampede, bytes retained per entry) and shown
/// as a column of the summary. BenchmarkDotNet runs each benchmark in its own process, so the value travels
/// through a file: the benchmark writes it in its <c>[GlobalCleanup]</c>, the column reads it in the host.
/// </summary>
public static class RecordedMetric
{
    /// <summary>Set by Program.cs in the host; inherited by the benchmark processes.</summary>
    public const string DirectoryVariable = "CACHIFY_BENCH_METRICS";

    public static string Directory =>
        Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } dir
            ? dir
            : Path.Combine(Path.GetTempPath(), "cachify-bench-metrics");

    /// <summary>Records <paramref name="text"/> for one benchmark method and prints it to the benchmark's log.</summary>
    public static void Write(string metric, Type benchmarkType, string method, string text)
    {
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(FileOf(metric, benchmarkType.Name, method), text);
        Console.WriteLine($"// {metric} of {benchmarkType.Name}.{method}: {text}");
    }

    public static string? Read(string metric, string typeName, string method)
    {
        var path = FileOf(metric, typeName, method);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    public static string Format(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string FileOf(string metric, string typeName, string method)
        => Path.Combine(Directory, $"{typeName}.{method}.{metric}.txt");
}

/// <summary>Shows a <see cref="RecordedMetric"/> in the summary table.</summary>
public sealed class RecordedMetricColumn(string metric, string header, string legend) : IColumn
{
    public string Id => "Cachify." + metric;

    public string ColumnName => header;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => false;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        => RecordedMetric.Read(metric, benchmarkCase.Descriptor.Type.Name, benchmarkCase.Descriptor.WorkloadMethod.Name) ?? "-";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
