using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace CachifyNet.Benchmarks.Infrastructure;

/// <summary>
/// Calls per second of all callers together, from the mean time per call: <c>callers × 10⁹ / mean ns</c>, where
/// <paramref name="callersOf"/> says how many callers a benchmark's mean time is per (1 when the time is already per
/// call of all callers together; the thread count when the time is per call per thread).
/// </summary>
public sealed class ThroughputColumn(Func<BenchmarkCase, int> callersOf, string legend) : IColumn
{
    public string Id => "Cachify.Throughput";

    public string ColumnName => "Calls/s (all)";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 1;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        if (statistics is null || statistics.Mean <= 0)
        {
            return "-";
        }

        var perSecond = callersOf(benchmarkCase) * 1e9 / statistics.Mean;
        return perSecond >= 1e6
            ? (perSecond / 1e6).ToString("N1", CultureInfo.InvariantCulture) + " M"
            : (perSecond / 1e3).ToString("N1", CultureInfo.InvariantCulture) + " k";
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;
}
