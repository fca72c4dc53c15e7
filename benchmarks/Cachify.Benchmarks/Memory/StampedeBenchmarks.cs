using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks.Memory;

/// <summary>
/// 1,000 concurrent callers on a cold key whose function takes 1 ms; the time is the wall time of one round
/// (all callers released together until the last has its value). Async: 1,000 tasks released by one
/// <see cref="TaskCompletionSource"/>, the function awaits <c>Task.Delay(1)</c>. Sync: 1,000 dedicated threads
/// released by one <see cref="Barrier"/>, the function blocks in <c>Thread.Sleep(1)</c>.
/// Each round uses a fresh key. The <c>Executions</c> column shows how often the function ran per round:
/// the benchmark throws if a cache that claims stampede protection ran it more than once.
/// IMemoryCache has no such protection: its count is reported, not enforced.
/// The floor is a <see cref="ConcurrentDictionary{TKey, TValue}"/> of <see cref="Lazy{T}"/>.
/// <para>
/// Two more rows per category give the parts of the wall-time target, "1.5 × (the function's own 1 ms + the hit
/// cost of 999 callers)": <c>FunctionAlone</c> is one call of the 1 ms function with no cache and no other caller
/// (what <c>Task.Delay(1)</c>/<c>Thread.Sleep(1)</c> really take here), and <c>CachifyAllHits</c> is the same round of
/// 1,000 callers on a key that is already cached (every caller hits; the function never runs), i.e. the hit cost of
/// the callers including what it costs to start and release them. benchmarks/report.py computes the target from them.
/// </para>
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class StampedeBenchmarks
{
    public const int Callers = 1000;

    /// <summary>The key <c>CachifyAllHits</c> reads; cached in setup. Stampede rounds use keys from 1 up.</summary>
    private const int WarmKey = 0;
    private const string Metric = "executions";

    private static int _executions;

    private readonly ConcurrentDictionary<int, Lazy<Task<int>>> _lazyTasks = new();
    private readonly ConcurrentDictionary<int, Lazy<int>> _lazies = new();
    private readonly Task<int>[] _callers = new Task<int>[Callers];
    private readonly Dictionary<string, RoundStats> _stats = [];

    private MemoryCacheBackend _backend = null!;
    private AsyncCachedFunc<int, int> _cachifyAsync = null!;
    private CachedFunc<int, int> _cachify = null!;
    private MemoryCache _memory = null!;
    private FusionCache _fusion = null!;
    private HybridCache _hybrid = null!;
    private ServiceProvider _services = null!;
    private ThreadGang _gang = null!;
    private int _key;

    [GlobalSetup]
    public void Setup()
    {
        _backend = Backends.Memory();
        _cachifyAsync = Cachify.Wrap((int key) => SlowAsync(key)).Backend(_backend);
        _cachify = Cachify.Wrap((int key) => SlowSync(key)).Backend(_backend);
        _memory = Peers.NewMemoryCache();
        _fusion = Peers.NewFusionCache();
        (_hybrid, _services) = Peers.NewHybridCache();
        _gang = new ThreadGang(Callers);

        // The all-hits rounds read a key cached here, so they never run the function.
        Source.Expect(_cachifyAsync.Invoke(WarmKey).GetAwaiter().GetResult(), WarmKey, "async warm-up");
        Source.Expect(_cachify.Invoke(WarmKey), WarmKey, "sync warm-up");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (method, stats) in _stats)
        {
            RecordedMetric.Write(Metric, typeof(StampedeBenchmarks), method, stats.ToString());
        }

        _gang.Dispose();
        _backend.Dispose();
        _memory.Dispose();
        _fusion.Dispose();
        _services.Dispose();
    }

    // ------------------------------------------------------------------ async: 1,000 tasks

    [Benchmark(Baseline = true), BenchmarkCategory("Async")]
    public Task Async_LazyDictionary() => RoundAsync(
        nameof(Async_LazyDictionary),
        static (self, key) => new ValueTask<int>(self._lazyTasks.GetOrAdd(key, static key => new Lazy<Task<int>>(() => SlowAsync(key))).Value),
        singleFlight: true);

    [Benchmark, BenchmarkCategory("Async")]
    public Task Async_Cachify() => RoundAsync(
        nameof(Async_Cachify),
        static (self, key) => new ValueTask<int>(self._cachifyAsync.Invoke(key)),
        singleFlight: true);

    [Benchmark, BenchmarkCategory("Async")]
    public Task Async_FusionCache() => RoundAsync(
        nameof(Async_FusionCache),
        static (self, key) => self._fusion.GetOrSetAsync($"slow:{key}", _ => SlowAsync(key)),
        singleFlight: true);

    [Benchmark, BenchmarkCategory("Async")]
    public Task Async_HybridCache() => RoundAsync(
        nameof(Async_HybridCache),
        static (self, key) => self._hybrid.GetOrCreateAsync($"slow:{key}", _ => new ValueTask<int>(SlowAsync(key))),
        singleFlight: true);

    [Benchmark, BenchmarkCategory("Async")]
    public Task Async_MemoryCacheGetOrCreateAsync() => RoundAsync(
        nameof(Async_MemoryCacheGetOrCreateAsync),
        static (self, key) => new ValueTask<int>(self._memory.GetOrCreateAsync(key, _ => SlowAsync(key))),
        singleFlight: false);

    /// <summary>The function's own time: one call, no cache, no other caller.</summary>
    [Benchmark, BenchmarkCategory("Async")]
    public async Task Async_FunctionAlone()
    {
        var key = ++_key;
        Volatile.Write(ref _executions, 0);
        Source.Expect(await SlowAsync(key).ConfigureAwait(false), key, nameof(Async_FunctionAlone) + " result");
        Record(nameof(Async_FunctionAlone), expected: 1);
    }

    /// <summary>The same 1,000 callers on a cached key: the hit cost of the callers (the function never runs).</summary>
    [Benchmark, BenchmarkCategory("Async")]
    public Task Async_CachifyAllHits() => RoundAsync(
        nameof(Async_CachifyAllHits),
        static (self, _) => new ValueTask<int>(self._cachifyAsync.Invoke(WarmKey)),
        expected: 0,
        key: WarmKey);

    // ------------------------------------------------------------------ sync: 1,000 threads

    [Benchmark(Baseline = true), BenchmarkCategory("Sync")]
    public void Sync_LazyDictionary() => Round(
        nameof(Sync_LazyDictionary),
        static (self, key) => self._lazies.GetOrAdd(key, static key => new Lazy<int>(() => SlowSync(key))).Value,
        singleFlight: true);

    [Benchmark, BenchmarkCategory("Sync")]
    public void Sync_Cachify() => Round(
        nameof(Sync_Cachify),
        static (self, key) => self._cachify.Invoke(key),
        singleFlight: true);

    [Benchmark, BenchmarkCategory("Sync")]
    public void Sync_FusionCache() => Round(
        nameof(Sync_FusionCache),
        static (self, key) => self._fusion.GetOrSet($"slow:{key}", _ => SlowSync(key)),
        singleFlight: true);

    [Benchmark, BenchmarkCategory("Sync")]
    public void Sync_MemoryCacheGetOrCreate() => Round(
        nameof(Sync_MemoryCacheGetOrCreate),
        static (self, key) => self._memory.GetOrCreate(key, _ => SlowSync(key)),
        singleFlight: false);

    /// <summary>The function's own time: one call, no cache, no other caller.</summary>
    [Benchmark, BenchmarkCategory("Sync")]
    public void Sync_FunctionAlone()
    {
        var key = ++_key;
        Volatile.Write(ref _executions, 0);
        Source.Expect(SlowSync(key), key, nameof(Sync_FunctionAlone) + " result");
        Record(nameof(Sync_FunctionAlone), expected: 1);
    }

    /// <summary>The same 1,000 threads on a cached key: the hit cost of the callers (the function never runs).</summary>
    [Benchmark, BenchmarkCategory("Sync")]
    public void Sync_CachifyAllHits() => Round(
        nameof(Sync_CachifyAllHits),
        static (self, _) => self._cachify.Invoke(WarmKey),
        expected: 0,
        key: WarmKey);

    // ------------------------------------------------------------------ the function and the rounds

    private static async Task<int> SlowAsync(int key)
    {
        Interlocked.Increment(ref _executions);
        await Task.Delay(1).ConfigureAwait(false);
        return key;
    }

    private static int SlowSync(int key)
    {
        Interlocked.Increment(ref _executions);
        Thread.Sleep(1);
        return key;
    }

    private Task RoundAsync(string method, Func<StampedeBenchmarks, int, ValueTask<int>> call, bool singleFlight)
        => RoundAsync(method, call, singleFlight ? 1 : null, ++_key);

    /// <summary>One round of <see cref="Callers"/> tasks on <paramref name="key"/>; <paramref name="expected"/> executions (null: any).</summary>
    private async Task RoundAsync(string method, Func<StampedeBenchmarks, int, ValueTask<int>> call, int? expected, int key)
    {
        Volatile.Write(ref _executions, 0);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < Callers; i++)
        {
            _callers[i] = Caller(start.Task, this, call, key);
        }

        start.SetResult();
        foreach (var caller in _callers)
        {
            Source.Expect(await caller.ConfigureAwait(false), key, method + " result");
        }

        Record(method, expected);

        static async Task<int> Caller(Task start, StampedeBenchmarks self, Func<StampedeBenchmarks, int, ValueTask<int>> call, int key)
        {
            await start.ConfigureAwait(false);
            return await call(self, key).ConfigureAwait(false);
        }
    }

    private void Round(string method, Func<StampedeBenchmarks, int, int> call, bool singleFlight)
        => Round(method, call, singleFlight ? 1 : null, ++_key);

    /// <summary>One round of <see cref="Callers"/> threads on <paramref name="key"/>; <paramref name="expected"/> executions (null: any).</summary>
    private void Round(string method, Func<StampedeBenchmarks, int, int> call, int? expected, int key)
    {
        Volatile.Write(ref _executions, 0);
        var failures = 0;
        _gang.Run(_ =>
        {
            if (call(this, key) != key)
            {
                Interlocked.Increment(ref failures);
            }
        });

        Source.Expect(failures, 0, method + " callers with a wrong result");
        Record(method, expected);
    }

    private void Record(string method, int? expected)
    {
        var executions = Volatile.Read(ref _executions);
        if (!_stats.TryGetValue(method, out var stats))
        {
            _stats[method] = stats = new RoundStats();
        }

        stats.Add(executions);
        if (expected is { } count && executions != count)
        {
            throw new InvalidOperationException($"{method}: the function ran {executions} times in a round of {Callers} concurrent callers of one key; expected {count}.");
        }
    }

    private sealed class RoundStats
    {
        private long _rounds;
        private long _total;
        private int _min = int.MaxValue;
        private int _max;

        public void Add(int executions)
        {
            _rounds++;
            _total += executions;
            _min = Math.Min(_min, executions);
            _max = Math.Max(_max, executions);
        }

        public override string ToString() => _min == _max
            ? RecordedMetric.Format(_min)
            : $"{RecordedMetric.Format((double)_total / _rounds)} (min {RecordedMetric.Format(_min)}, max {RecordedMetric.Format(_max)})";
    }

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new RecordedMetricColumn(
            Metric,
            "Executions",
            $"How often the function ran per round of {Callers} concurrent callers (mean, min, max when they differ)"));
    }
}
