using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// Throughput of all threads together relative to the same method with 1 thread (same other parameters):
/// <c>threads × mean(1 thread) / mean(n threads)</c>, for benchmarks whose time is per call per thread and whose
/// thread count is the parameter <paramref name="threadsParameter"/>. 2.00 is perfect scaling on 2 threads.
/// </summary>
public sealed class ScalingColumn(string threadsParameter) : IColumn
{
    public string Id => "Cachify.Scaling";

    public string ColumnName => "Scaling vs 1 thread";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 2;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"Throughput of all threads together / throughput of the same method with 1 thread ({threadsParameter} × mean(1) / mean(n))";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var threads = (int)benchmarkCase.Parameters[threadsParameter];
        var single = summary.BenchmarksCases.FirstOrDefault(other =>
            other.Descriptor.Equals(benchmarkCase.Descriptor)
            && (int)other.Parameters[threadsParameter] == 1
            && other.Parameters.Items.All(item => item.Name == threadsParameter || Equals(item.Value, benchmarkCase.Parameters[item.Name])));
        var mine = summary[benchmarkCase]?.ResultStatistics?.Mean;
        var baseline = single is null ? null : summary[single]?.ResultStatistics?.Mean;
        return mine is > 0 && baseline is > 0
            ? (threads * baseline.Value / mine.Value).ToString("N2", CultureInfo.InvariantCulture)
            : "-";
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
