using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;
using CachifyNet.Redis;
using CachifyNet.Stores;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks.Redis;

/// <summary>
/// Two levels (issue 13): an async call of a one-int function, from one caller, cycling over 1,000 warm keys, with
/// every contender on the run's Redis server (<see cref="RedisEndpoint"/>), each on connections of its own, built by
/// <see cref="TwoLevels"/>.
/// <list type="bullet">
/// <item><b>Hit</b>: every key is warm in every level. The baseline is Cachify's memory backend (no Redis at all).
/// Cachify's Redis backend and its <see cref="CacheStoreBackend"/> over Microsoft's <c>RedisCache</c> measure whatever
/// the backend does: a round trip per hit before issue 13's local level, a local hit after it. FusionCache (memory
/// level + Redis + backplane) and HybridCache (memory level + Redis) answer from their memory level.</item>
/// <item><b>Miss</b>: a key never used before on every call (in no level): read Redis, run the function, write Redis
/// (and the memory level, and FusionCache's backplane message), as the contender does it.</item>
/// </list>
/// Setup proves that every hit row returns the warm value without running the function, that every miss row runs it
/// exactly once, and prints how many Redis commands 100 calls of each row sent (a hit sending 0 was answered by the memory level).
/// Peers are written the way their users write them (a formatted string key, a capturing factory), as in the rest of
/// the suite.
/// </summary>
[MemoryDiagnoser]
[IterationTime(100)] // hits take nanoseconds, round trips tens of microseconds: 100 ms holds thousands of either
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class LevelsBenchmarks
{
    /// <summary>How many warm keys the hit rows cycle over.</summary>
    public const int Keys = 1_000;

    private const string Name = "levels.square";

    private int _next;
    private int _missId = 1_000_000;

    private string _prefix = null!;
    private MemoryCacheBackend _memory = null!;
    private ConnectionMultiplexer _redisConnection = null!;
    private RedisCacheBackend _redis = null!;
    private RedisCache _storeCache = null!;
    private CacheStoreBackend _store = null!;
    private FusionCache _fusion = null!;
    private RedisCache _fusionDistributed = null!;
    private HybridCache _hybrid = null!;
    private ServiceProvider _hybridServices = null!;

    private AsyncCachedFunc<int, int> _cachifyMemory = null!;
    private AsyncCachedFunc<int, int> _cachifyRedis = null!;
    private AsyncCachedFunc<int, int> _cachifyStore = null!;

    [GlobalSetup]
    public void Setup()
    {
        var configuration = RedisEndpoint.Configuration;
        _prefix = string.Create(CultureInfo.InvariantCulture, $"cachify-bench-levels-{Environment.ProcessId}");
        _memory = Backends.Memory();
        (_redisConnection, _redis) = TwoLevels.CachifyRedis(configuration, _prefix + "-redis");
        (_storeCache, _store) = TwoLevels.CachifyStore(configuration, _prefix + "-store");
        (_fusion, _fusionDistributed) = TwoLevels.Fusion(configuration, _prefix + "-fusion");
        (_hybrid, _hybridServices) = TwoLevels.Hybrid(configuration, _prefix + "-hybrid");

        // One function, three backends; a lambda needs a stable name on a distributed backend.
        _cachifyMemory = Cachify.Wrap((int id) => Task.FromResult(Source.Square(id))).Named(Name).NoSelf().Backend(_memory);
        _cachifyRedis = Cachify.Wrap((int id) => Task.FromResult(Source.Square(id))).Named(Name).NoSelf().Backend(_redis);
        _cachifyStore = Cachify.Wrap((int id) => Task.FromResult(Source.Square(id))).Named(Name).NoSelf().Backend(_store);

        var hits = new (string Name, Func<int, Task<int>> Call)[]
        {
            (nameof(Hit_CachifyMemory), _ => Hit_CachifyMemory()),
            (nameof(Hit_CachifyRedis), _ => Hit_CachifyRedis()),
            (nameof(Hit_CachifyStoreOverRedisCache), _ => Hit_CachifyStoreOverRedisCache()),
            (nameof(Hit_FusionCache), _ => Hit_FusionCache().AsTask()),
            (nameof(Hit_HybridCache), _ => Hit_HybridCache().AsTask()),
        };

        // Warm every key in every level: one pass of each hit row over all keys is a miss the first time.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var (_, call) in hits)
            {
                for (var i = 0; i < Keys; i++)
                {
                    call(0).GetAwaiter().GetResult();
                }
            }
        }

        // Every hit row returns the warm value without running the function.
        var executions = Source.Executions;
        foreach (var (name, call) in hits)
        {
            for (var i = 0; i < Keys; i++)
            {
                var key = PeekKey();
                Source.Expect(call(0).GetAwaiter().GetResult(), key * key, name);
            }
        }

        Source.Expect(Source.Executions, executions, "executions during the hit check (a hit row ran the function)");

        // Every miss row runs the function once per call.
        var misses = new (string Name, Func<int, Task<int>> Call)[]
        {
            (nameof(Miss_CachifyMemory), _ => Miss_CachifyMemory()),
            (nameof(Miss_CachifyRedis), _ => Miss_CachifyRedis()),
            (nameof(Miss_CachifyStoreOverRedisCache), _ => Miss_CachifyStoreOverRedisCache()),
            (nameof(Miss_FusionCache), _ => Miss_FusionCache().AsTask()),
            (nameof(Miss_HybridCache), _ => Miss_HybridCache().AsTask()),
        };
        foreach (var (name, call) in misses)
        {
            var before = Source.Executions;
            call(0).GetAwaiter().GetResult();
            Source.Expect(Source.Executions - before, 1L, name + ": executions of one miss");
        }

        ReportRoundTrips(configuration, [.. hits, .. misses]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _memory.Dispose();
        _redis.Dispose();
        _store.Dispose();
        _fusion.Dispose();
        _fusionDistributed.Dispose();
        _hybridServices.Dispose();
        DeleteKeys();
        _storeCache.Dispose();
        _redisConnection.Dispose();
    }

    // ------------------------------------------------------------------ hit: 1,000 warm keys, one after the other

    [Benchmark(Baseline = true), BenchmarkCategory("Hit")]
    public Task<int> Hit_CachifyMemory() => _cachifyMemory.Invoke(NextKey());

    [Benchmark, BenchmarkCategory("Hit")]
    public Task<int> Hit_CachifyRedis() => _cachifyRedis.Invoke(NextKey());

    [Benchmark, BenchmarkCategory("Hit")]
    public Task<int> Hit_CachifyStoreOverRedisCache() => _cachifyStore.Invoke(NextKey());

    [Benchmark, BenchmarkCategory("Hit")]
    public ValueTask<int> Hit_FusionCache()
    {
        var id = NextKey();
        return _fusion.GetOrSetAsync($"square:{id}", _ => Task.FromResult(Source.Square(id)));
    }

    [Benchmark, BenchmarkCategory("Hit")]
    public ValueTask<int> Hit_HybridCache()
    {
        var id = NextKey();
        return _hybrid.GetOrCreateAsync($"square:{id}", _ => ValueTask.FromResult(Source.Square(id)));
    }

    // ------------------------------------------------------------------ miss through both levels: a new key every call

    [Benchmark(Baseline = true), BenchmarkCategory("Miss")]
    public Task<int> Miss_CachifyMemory() => _cachifyMemory.Invoke(NextMiss());

    [Benchmark, BenchmarkCategory("Miss")]
    public Task<int> Miss_CachifyRedis() => _cachifyRedis.Invoke(NextMiss());

    [Benchmark, BenchmarkCategory("Miss")]
    public Task<int> Miss_CachifyStoreOverRedisCache() => _cachifyStore.Invoke(NextMiss());

    [Benchmark, BenchmarkCategory("Miss")]
    public ValueTask<int> Miss_FusionCache()
    {
        var id = NextMiss();
        return _fusion.GetOrSetAsync($"square:{id}", _ => Task.FromResult(Source.Square(id)));
    }

    [Benchmark, BenchmarkCategory("Miss")]
    public ValueTask<int> Miss_HybridCache()
    {
        var id = NextMiss();
        return _hybrid.GetOrCreateAsync($"square:{id}", _ => ValueTask.FromResult(Source.Square(id)));
    }

    // ------------------------------------------------------------------ helpers

    private int NextKey()
    {
        var next = _next + 1;
        _next = next == Keys ? 0 : next;
        return _next;
    }

    /// <summary>The key <see cref="NextKey"/> returns next.</summary>
    private int PeekKey() => _next + 1 == Keys ? 0 : _next + 1;

    /// <summary>A key no call of this process has used (keys above the warm ones; each benchmark process has its own prefix).</summary>
    private int NextMiss() => ++_missId;

    /// <summary>Prints how many commands 100 calls of each row sent to Redis (for a hit: 100 or more is a round trip per hit, 0 a memory level).</summary>
    private static void ReportRoundTrips(string configuration, (string Name, Func<int, Task<int>> Call)[] hits)
    {
        var admin = ConfigurationOptions.Parse(configuration);
        admin.AllowAdmin = true;
        using var connection = ConnectionMultiplexer.Connect(admin);
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        foreach (var (name, call) in hits)
        {
            var before = CommandsProcessed(server);
            for (var i = 0; i < 100; i++)
            {
                call(0).GetAwaiter().GetResult();
            }

            var sent = CommandsProcessed(server) - before - 1; // the first INFO counts itself
            Console.WriteLine($"// {nameof(LevelsBenchmarks)}: 100 calls of {name} sent {sent} Redis commands");
        }
    }

    private static long CommandsProcessed(IServer server)
    {
        foreach (var group in server.Info("stats"))
        {
            foreach (var (key, value) in group)
            {
                if (key == "total_commands_processed")
                {
                    return long.Parse(value, CultureInfo.InvariantCulture);
                }
            }
        }

        throw new InvalidOperationException("INFO stats has no total_commands_processed.");
    }

    /// <summary>Deletes every key this process wrote (SCAN, never KEYS).</summary>
    private void DeleteKeys()
    {
        var server = _redisConnection.GetServer(_redisConnection.GetEndPoints()[0]);
        var database = _redisConnection.GetDatabase();
        foreach (var page in server.Keys(database.Database, _prefix + "*", pageSize: 500).Chunk(500))
        {
            database.KeyDelete(page);
        }
    }
}
