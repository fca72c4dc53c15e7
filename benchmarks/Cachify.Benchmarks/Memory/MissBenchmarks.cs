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
/// The write side, with a trivial function. <b>Miss</b>: the entry is removed (Invalidate, Remove), then the
/// call misses, runs the function and stores the result, so every operation is a real miss on a steady-size
/// cache (fresh keys would grow the cache for the whole run). <b>Overwrite</b>: Cachify's
/// <c>skipCache: true</c> (run now, store, restart the TTL) beside the peers' plain Set. Every entry gets a TTL,
/// as Cachify's do. The floor is a <see cref="ConcurrentDictionary{TKey, TValue}"/>.
/// </summary>
[MemoryDiagnoser]
[IterationTime(100)] // operations take hundreds of nanoseconds: 100 ms iterations hold ~100,000 of them
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MissBenchmarks
{
    private readonly int _id = 42;
    private readonly ConcurrentDictionary<int, int> _dictionary = new();
    private readonly ConcurrentDictionary<int, Task<int>> _dictionaryAsync = new();

    private MemoryCacheBackend _backend = null!;
    private CachedFunc<int, int> _cachify = null!;
    private AsyncCachedFunc<int, int> _cachifyAsync = null!;
    private MemoryCache _memory = null!;
    private FusionCache _fusion = null!;
    private HybridCache _hybrid = null!;
    private ServiceProvider _services = null!;

    [GlobalSetup]
    public void Setup()
    {
        _backend = Backends.Memory();
        _cachify = Cachify.Wrap((int id) => Source.Square(id)).Ttl(Peers.Lifetime).Backend(_backend);
        _cachifyAsync = Cachify.Wrap((int id) => Task.FromResult(Source.Square(id))).Ttl(Peers.Lifetime).Backend(_backend);
        _memory = Peers.NewMemoryCache();
        _fusion = Peers.NewFusionCache();
        (_hybrid, _services) = Peers.NewHybridCache();

        // Every benchmark below must run the function exactly once per call and return its result.
        var expected = _id * _id;
        foreach (var (name, call) in new (string, Func<int>)[]
        {
            (nameof(MissSync_Dictionary), MissSync_Dictionary),
            (nameof(MissSync_Cachify), MissSync_Cachify),
            (nameof(MissSync_MemoryCacheGetOrCreate), MissSync_MemoryCacheGetOrCreate),
            (nameof(MissSync_FusionCache), MissSync_FusionCache),
            (nameof(MissAsync_Dictionary), () => MissAsync_Dictionary().GetAwaiter().GetResult()),
            (nameof(MissAsync_Cachify), () => MissAsync_Cachify().GetAwaiter().GetResult()),
            (nameof(MissAsync_MemoryCacheGetOrCreateAsync), () => MissAsync_MemoryCacheGetOrCreateAsync().GetAwaiter().GetResult()),
            (nameof(MissAsync_FusionCache), () => MissAsync_FusionCache().AsTask().GetAwaiter().GetResult()),
            (nameof(MissAsync_HybridCache), () => MissAsync_HybridCache().AsTask().GetAwaiter().GetResult()),
            (nameof(OverwriteSync_Dictionary), OverwriteSync_Dictionary),
            (nameof(OverwriteSync_Cachify), OverwriteSync_Cachify),
            (nameof(OverwriteSync_MemoryCacheSet), OverwriteSync_MemoryCacheSet),
            (nameof(OverwriteSync_FusionCache), OverwriteSync_FusionCache),
            (nameof(OverwriteAsync_Dictionary), () => OverwriteAsync_Dictionary().GetAwaiter().GetResult()),
            (nameof(OverwriteAsync_Cachify), () => OverwriteAsync_Cachify().GetAwaiter().GetResult()),
        })
        {
            for (var i = 0; i < 3; i++)
            {
                var before = Source.Executions;
                Source.Expect(call(), expected, name);
                Source.Expect(Source.Executions, before + 1, name + " executions");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _backend.Dispose();
        _memory.Dispose();
        _fusion.Dispose();
        _services.Dispose();
    }

    // ------------------------------------------------------------------ miss, synchronous

    [Benchmark(Baseline = true), BenchmarkCategory("MissSync")]
    public int MissSync_Dictionary()
    {
        _dictionary.TryRemove(_id, out _);
        return _dictionary.GetOrAdd(_id, static id => Source.Square(id));
    }

    [Benchmark, BenchmarkCategory("MissSync")]
    public int MissSync_Cachify()
    {
        _cachify.Invalidate(_id);
        return _cachify.Invoke(_id);
    }

    [Benchmark, BenchmarkCategory("MissSync")]
    public int MissSync_MemoryCacheGetOrCreate()
    {
        var id = _id;
        _memory.Remove(id);
        return _memory.GetOrCreate(id, entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = Peers.Lifetime;
            return Source.Square(id);
        });
    }

    [Benchmark, BenchmarkCategory("MissSync")]
    public int MissSync_FusionCache()
    {
        var id = _id;
        var key = $"square:{id}";
        _fusion.Remove(key);
        return _fusion.GetOrSet(key, _ => Source.Square(id));
    }

    // ------------------------------------------------------------------ miss, asynchronous

    [Benchmark(Baseline = true), BenchmarkCategory("MissAsync")]
    public Task<int> MissAsync_Dictionary()
    {
        _dictionaryAsync.TryRemove(_id, out _);
        return _dictionaryAsync.GetOrAdd(_id, static id => Task.FromResult(Source.Square(id)));
    }

    [Benchmark, BenchmarkCategory("MissAsync")]
    public Task<int> MissAsync_Cachify()
    {
        _cachifyAsync.Invalidate(_id);
        return _cachifyAsync.Invoke(_id);
    }

    [Benchmark, BenchmarkCategory("MissAsync")]
    public Task<int> MissAsync_MemoryCacheGetOrCreateAsync()
    {
        var id = _id;
        _memory.Remove(id);
        return _memory.GetOrCreateAsync(id, entry =>
        {
            entry.AbsoluteExpirationRelativeToNow = Peers.Lifetime;
            return Task.FromResult(Source.Square(id));
        });
    }

    [Benchmark, BenchmarkCategory("MissAsync")]
    public ValueTask<int> MissAsync_FusionCache()
    {
        var id = _id;
        var key = $"square:{id}";
        _fusion.Remove(key);
        return _fusion.GetOrSetAsync(key, _ => Task.FromResult(Source.Square(id)));
    }

    [Benchmark, BenchmarkCategory("MissAsync")]
    public async ValueTask<int> MissAsync_HybridCache()
    {
        var id = _id;
        var key = $"square:{id}";
        await _hybrid.RemoveAsync(key);
        return await _hybrid.GetOrCreateAsync(key, _ => ValueTask.FromResult(Source.Square(id)));
    }

    // ------------------------------------------------------------------ overwrite (skip-cache), synchronous

    [Benchmark(Baseline = true), BenchmarkCategory("OverwriteSync")]
    public int OverwriteSync_Dictionary() => _dictionary[_id] = Source.Square(_id);

    [Benchmark, BenchmarkCategory("OverwriteSync")]
    public int OverwriteSync_Cachify() => _cachify.Invoke(_id, skipCache: true);

    [Benchmark, BenchmarkCategory("OverwriteSync")]
    public int OverwriteSync_MemoryCacheSet() => _memory.Set(_id, Source.Square(_id), Peers.Lifetime);

    [Benchmark, BenchmarkCategory("OverwriteSync")]
    public int OverwriteSync_FusionCache()
    {
        var id = _id;
        var value = Source.Square(id);
        _fusion.Set($"square:{id}", value);
        return value;
    }

    // ------------------------------------------------------------------ overwrite (skip-cache), asynchronous

    [Benchmark(Baseline = true), BenchmarkCategory("OverwriteAsync")]
    public Task<int> OverwriteAsync_Dictionary() => _dictionaryAsync[_id] = Task.FromResult(Source.Square(_id));

    [Benchmark, BenchmarkCategory("OverwriteAsync")]
    public Task<int> OverwriteAsync_Cachify() => _cachifyAsync.Invoke(_id, skipCache: true);

    [Benchmark, BenchmarkCategory("OverwriteAsync")]
    public ValueTask OverwriteAsync_FusionCache() => _fusion.SetAsync($"square:{_id}", Source.Square(_id));

    [Benchmark, BenchmarkCategory("OverwriteAsync")]
    public ValueTask OverwriteAsync_HybridCache() => _hybrid.SetAsync($"square:{_id}", Source.Square(_id));
}
