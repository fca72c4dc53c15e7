using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;

namespace CachifyNet.Benchmarks.Memory;

/// <summary>
/// 1,000,000 distinct int keys. The time is filling a new store with all of them (one operation = 1,000,000
/// inserts; for Cachify, 1,000,000 misses). The <c>Retained/entry</c> column is the managed memory the full
/// store keeps per entry, measured once per store in its own process before the timed runs (GC.GetTotalMemory
/// with a full collection before and after). <c>--retained</c> prints the same numbers without the timing.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[InvocationCount(1)] // one operation fills a whole store (about a second): no batching
[WarmupCount(1)]
[IterationCount(3)] // fixed, so the default job does not spend minutes on this class either
public class ManyKeysBenchmarks
{
    public const int Keys = RetainedMemory.DefaultKeys;
    private const string Metric = "retained";

    [GlobalSetup(Target = nameof(Dictionary))]
    public void MeasureDictionary() => Measure(nameof(Dictionary), ManyKeysPeer.Dictionary);

    [GlobalSetup(Target = nameof(Cachify))]
    public void MeasureCachify() => Measure(nameof(Cachify), ManyKeysPeer.Cachify);

    [GlobalSetup(Target = nameof(MemoryCacheSet))]
    public void MeasureMemoryCache() => Measure(nameof(MemoryCacheSet), ManyKeysPeer.MemoryCache);

    [GlobalSetup(Target = nameof(FusionCacheSet))]
    public void MeasureFusionCache() => Measure(nameof(FusionCacheSet), ManyKeysPeer.FusionCache);

    [Benchmark(Baseline = true)]
    public void Dictionary() => RetainedMemory.Fill(ManyKeysPeer.Dictionary, Keys).Dispose();

    [Benchmark]
    public void Cachify() => RetainedMemory.Fill(ManyKeysPeer.Cachify, Keys).Dispose();

    [Benchmark]
    public void MemoryCacheSet() => RetainedMemory.Fill(ManyKeysPeer.MemoryCache, Keys).Dispose();

    [Benchmark]
    public void FusionCacheSet() => RetainedMemory.Fill(ManyKeysPeer.FusionCache, Keys).Dispose();

    private void Measure(string method, ManyKeysPeer peer)
        => RecordedMetric.Write(Metric, typeof(ManyKeysBenchmarks), method, RecordedMetric.Format(RetainedMemory.BytesPerEntry(peer, Keys)) + " B");

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new RecordedMetricColumn(
            Metric,
            "Retained/entry",
            $"Managed memory kept per entry by a store holding {Keys:N0} int keys (GC.GetTotalMemory(true) before and after filling it)"));
    }
}
