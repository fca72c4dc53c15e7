using System.Diagnostics;
using CachifyNet.Redis;
using Microsoft.Extensions.Caching.Memory;
using StackExchange.Redis;
using CachifyNet.Testing;

namespace CachifyNet.Soak;

/// <summary>
/// One soak run: workers call cached functions for the given duration — hits and misses over random TTLs, skip-caches,
/// invalidations and clears on the memory backend; never-die reads of a flaky source that has outages; optionally a
/// Redis backend shared by two "processes" (two multiplexers), whose server may be killed and restarted. Every value
/// is checked against the pure function of its key.
/// </summary>
public sealed class SoakRun : IDisposable
{
    /// <summary>TTLs of the memory function groups (a key's group is key % 4); the last never expires.</summary>
    private static readonly TimeSpan[] MemoryTtls = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan];

    private static readonly TimeSpan[] RedisTtls = [TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)];

    private const int NeverDieKeys = 100;

    private static readonly TimeSpan NeverDieTtl = TimeSpan.FromMilliseconds(200);

    /// <summary>The never-die source is down this long at the start of every <see cref="OutagePeriod"/>, and fails 1 call in 5 otherwise.</summary>
    private static readonly TimeSpan OutageLength = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan OutagePeriod = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan RedisDownFor = TimeSpan.FromSeconds(5);

    private readonly SoakOptions _options;
    private readonly MemoryCache _cache;
    private readonly MemoryCacheBackend _memory;
    private readonly LocalRedisServer? _localRedis;
    private readonly CachifyGauges _gauges = new();
    private readonly List<ConnectionMultiplexer> _connections = [];
    private readonly List<RedisCacheBackend> _redisBackends = [];
    private readonly Stopwatch _clock = new();

    /// <summary>When the current Redis outage ends (clock ticks of <see cref="_clock"/>): from the kill to 5 s after the restart, the time a multiplexer takes to reconnect.</summary>
    private long _outageEndsTicks = long.MinValue;

    private bool InOutage => _clock.Elapsed.Ticks < Volatile.Read(ref _outageEndsTicks);
    private readonly int[] _memoryExecutions;
    private readonly int[] _skips;
    private readonly int[] _invalidations;
    private readonly int[] _clears = new int[MemoryTtls.Length];
    private readonly long[] _neverDieVersions = new long[NeverDieKeys];
    private long _neverDieExecutions;
    private long _neverDieFailures;
    private long _redisExecutions;
    private int _kills;

    private CachedFunc<int, Value>[] _memorySync = [];
    private AsyncCachedFunc<int, Value>[] _memoryAsync = [];
    private CachedFunc<int, Value> _neverDieSync = null!;
    private AsyncCachedFunc<int, Value> _neverDieAsync = null!;
    private CachedFunc<int, Value>[][] _redisSync = [];
    private AsyncCachedFunc<int, Value>[][] _redisAsync = [];

    public SoakRun(SoakOptions options)
    {
        _options = options;
        _memoryExecutions = new int[options.Keys];
        _skips = new int[options.Keys];
        _invalidations = new int[options.Keys];
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = 100_000 });
        _memory = new MemoryCacheBackend(_cache);
        if (options.RedisLocal)
        {
            _localRedis = new LocalRedisServer("cachify-soak-redis-");
        }
    }

    public async Task<SoakSummary> RunAsync()
    {
        CreateFunctions();
        WarmNeverDie();
        var start = MemoryFigures.Measure();
        var workers = new WorkerStats[_options.Workers];
        _clock.Start();
        var end = _options.Duration;

        var tasks = new List<Task>();
        for (var w = 0; w < workers.Length; w++)
        {
            var stats = workers[w] = new WorkerStats();
            var seed = _options.Seed * 1000 + w;
            tasks.Add(w % 2 == 0
                ? Task.Factory.StartNew(() => RunSync(stats, seed, end), TaskCreationOptions.LongRunning)
                : Task.Run(() => RunAsync(stats, seed, end)));
        }

        var killer = _localRedis is not null && _options.KillEvery > TimeSpan.Zero ? Task.Run(() => KillAndRestartAsync(end)) : Task.CompletedTask;
        var progress = Task.Run(() => ReportProgressAsync(workers, end));
        await Task.WhenAll(tasks);
        await killer;
        await progress;
        var elapsed = _clock.Elapsed;

        var total = new WorkerStats();
        foreach (var stats in workers)
        {
            total.Add(stats);
        }

        var finish = MemoryFigures.Measure();
        return new SoakSummary
        {
            Options = _options,
            Elapsed = elapsed,
            Totals = total,
            Kills = _kills,
            Start = start,
            End = finish,
            Executions = CheckExecutions(elapsed),
            NeverDieExecutions = Interlocked.Read(ref _neverDieExecutions),
            NeverDieFailures = Interlocked.Read(ref _neverDieFailures),
            RedisExecutions = Interlocked.Read(ref _redisExecutions),
            Gauges = await CollectSettledGaugesAsync(),
        };
    }

    public void Dispose()
    {
        foreach (var backend in _redisBackends)
        {
            backend.Dispose();
        }

        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        _localRedis?.Dispose();
        _gauges.Dispose();
        _memory.Dispose();
        _cache.Dispose();
    }

    private void CreateFunctions()
    {
        _memorySync = [.. MemoryTtls.Select((ttl, g) => Cachify.Wrap((int key) => ComputeMemory(key)).Named($"soak.memory.{g}").NoSelf().Ttl(ttl).Backend(_memory))];
        _memoryAsync = [.. MemoryTtls.Select((ttl, g) => Cachify.Wrap(async (int key) =>
        {
            await Task.Yield();
            return ComputeMemory(key);
        }).Named($"soak.memory.{g}").NoSelf().Ttl(ttl).Backend(_memory))];

        _neverDieSync = Cachify.Wrap((int key) => ComputeNeverDie(key)).Named("soak.neverdie").NoSelf().Ttl(NeverDieTtl).NeverDie().Backend(_memory);
        _neverDieAsync = Cachify.Wrap((int key) => Task.Run(() => ComputeNeverDie(key))).Named("soak.neverdie").NoSelf().Ttl(NeverDieTtl).NeverDie().Backend(_memory);

        if (!_options.UsesRedis)
        {
            return;
        }

        var endpoint = _localRedis?.EndPoint ?? _options.RedisConnection!;
        for (var p = 0; p < 2; p++)
        {
            // Two "processes": their own multiplexer and backend, one key prefix (so they share entries and locks).
            var configuration = ConfigurationOptions.Parse(endpoint);
            configuration.AbortOnConnectFail = false;
            configuration.ReconnectRetryPolicy = new LinearRetry(250);
            configuration.SyncTimeout = configuration.AsyncTimeout = 2000;
            var connection = ConnectionMultiplexer.Connect(configuration);
            _connections.Add(connection);
            _redisBackends.Add(new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "cachify-soak", LockTimeout = TimeSpan.FromSeconds(2) }));
        }

        _redisSync = [.. _redisBackends.Select(backend => RedisTtls.Select((ttl, g) => Cachify.Wrap((int key) => ComputeRedis(key)).Named($"soak.redis.{g}").NoSelf().Ttl(ttl).Backend(backend)).ToArray())];
        _redisAsync = [.. _redisBackends.Select(backend => RedisTtls.Select((ttl, g) => Cachify.Wrap(async (int key) =>
        {
            await Task.Yield();
            return ComputeRedis(key);
        }).Named($"soak.redis.{g}").NoSelf().Ttl(ttl).Backend(backend)).ToArray())];
        _redisSync[0][0].Clear(); // entries of an earlier run on the same server
    }

    /// <summary>Never-die keys get their first value while the source is up; from then on no read may fail.</summary>
    private void WarmNeverDie()
    {
        for (var key = 0; key < NeverDieKeys; key++)
        {
            while (true)
            {
                try
                {
                    _neverDieSync.Invoke(key);
                    break;
                }
                catch (InvalidOperationException)
                {
                    // The flaky source failed this first call: try again.
                }
            }
        }
    }

    private Value ComputeMemory(int key)
    {
        Interlocked.Increment(ref _memoryExecutions[key]);
        return Value.Of(key, 0);
    }

    private Value ComputeRedis(int key)
    {
        Interlocked.Increment(ref _redisExecutions);
        return Value.Of(key, 0);
    }

    private Value ComputeNeverDie(int key)
    {
        Interlocked.Increment(ref _neverDieExecutions);
        var inOutage = _clock.IsRunning && _clock.Elapsed.Ticks % OutagePeriod.Ticks < OutageLength.Ticks;
        if (inOutage || Random.Shared.Next(5) == 0)
        {
            Interlocked.Increment(ref _neverDieFailures);
            throw new InvalidOperationException("the flaky source failed");
        }

        return Value.Of(key, Interlocked.Increment(ref _neverDieVersions[key]));
    }

    private enum Target
    {
        Memory,
        NeverDie,
        Redis,
    }

    private (Target Target, int Key, int Roll) Pick(Random random)
    {
        var which = random.Next(100);
        var target = _options.UsesRedis && which < 25 ? Target.Redis : which < 35 ? Target.NeverDie : Target.Memory;
        var keys = target == Target.NeverDie ? NeverDieKeys : _options.Keys;
        var key = random.Next(10) < 8 ? random.Next(Math.Max(1, keys / 10)) : random.Next(keys); // 80% of calls on 10% of the keys
        return (target, key, random.Next(100_000));
    }

    private void RunSync(WorkerStats stats, int seed, TimeSpan end)
    {
        var random = new Random(seed);
        var neverDieSeen = new long[NeverDieKeys];
        while (_clock.Elapsed < end)
        {
            for (var batch = 0; batch < 64; batch++)
            {
                var (target, key, roll) = Pick(random);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    switch (target)
                    {
                        case Target.Memory:
                            var group = key % MemoryTtls.Length;
                            if (TryMutate(roll, key, group, stats, () => _memorySync[group].Invalidate(key), () => _memorySync[group].Clear()))
                            {
                                continue;
                            }

                            stats.Check(key, _memorySync[group].Invoke(key, skipCache: Skip(roll, key)), 0);
                            stats.Memory.Record(Stopwatch.GetTimestamp() - started);
                            break;
                        case Target.NeverDie:
                            stats.CheckNeverDie(key, _neverDieSync.Invoke(key), neverDieSeen);
                            stats.NeverDie.Record(Stopwatch.GetTimestamp() - started);
                            break;
                        default:
                            var process = roll & 1;
                            var redisGroup = key % RedisTtls.Length;
                            if (roll < 300)
                            {
                                try
                                {
                                    _redisSync[process][redisGroup].Invalidate(key);
                                }
                                catch (CachifyException) when (InOutage)
                                {
                                    // By design, Invalidate throws in every error mode while Redis is away (its entry may
                                    // still be served elsewhere until it expires): counted apart, not a failed call.
                                    stats.RemovalsRefused++;
                                }

                                stats.Calls++;
                                continue;
                            }

                            stats.Check(key, _redisSync[process][redisGroup].Invoke(key, skipCache: roll < 1500), 0);
                            stats.Redis.Record(Stopwatch.GetTimestamp() - started);
                            break;
                    }
                }
                catch (Exception error)
                {
                    stats.Failed(target.ToString(), error);
                }
            }
        }
    }

    private async Task RunAsync(WorkerStats stats, int seed, TimeSpan end)
    {
        var random = new Random(seed);
        var neverDieSeen = new long[NeverDieKeys];
        while (_clock.Elapsed < end)
        {
            // Hits complete synchronously: yield between batches so this loop never holds a pool thread for good.
            await Task.Yield();
            for (var batch = 0; batch < 64; batch++)
            {
                var (target, key, roll) = Pick(random);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    switch (target)
                    {
                        case Target.Memory:
                            var group = key % MemoryTtls.Length;
                            if (TryMutate(roll, key, group, stats, () => _memoryAsync[group].InvalidateAsync(key).AsTask().GetAwaiter().GetResult(), () => _memoryAsync[group].ClearAsync().AsTask().GetAwaiter().GetResult()))
                            {
                                continue;
                            }

                            stats.Check(key, await _memoryAsync[group].Invoke(key, skipCache: Skip(roll, key)), 0);
                            stats.Memory.Record(Stopwatch.GetTimestamp() - started);
                            break;
                        case Target.NeverDie:
                            stats.CheckNeverDie(key, await _neverDieAsync.Invoke(key), neverDieSeen);
                            stats.NeverDie.Record(Stopwatch.GetTimestamp() - started);
                            break;
                        default:
                            var process = roll & 1;
                            var redisGroup = key % RedisTtls.Length;
                            if (roll < 300)
                            {
                                try
                                {
                                    await _redisAsync[process][redisGroup].InvalidateAsync(key);
                                }
                                catch (CachifyException) when (InOutage)
                                {
                                    stats.RemovalsRefused++; // see the synchronous worker
                                }

                                stats.Calls++;
                                continue;
                            }

                            stats.Check(key, await _redisAsync[process][redisGroup].Invoke(key, skipCache: roll < 1500), 0);
                            stats.Redis.Record(Stopwatch.GetTimestamp() - started);
                            break;
                    }
                }
                catch (Exception error)
                {
                    stats.Failed(target.ToString(), error);
                }
            }
        }
    }

    /// <summary>0.5% of memory calls invalidate their key; 1 in 100,000 clears its function. Counted for the execution bound.</summary>
    private bool TryMutate(int roll, int key, int group, WorkerStats stats, Action invalidate, Action clear)
    {
        if (roll < 500)
        {
            Interlocked.Increment(ref _invalidations[key]);
            invalidate();
            stats.Calls++;
            return true;
        }

        if (roll == 99_999)
        {
            Interlocked.Increment(ref _clears[group]);
            clear();
            stats.Calls++;
            return true;
        }

        return false;
    }

    /// <summary>2% of memory calls skip the cache. Counted for the execution bound.</summary>
    private bool Skip(int roll, int key)
    {
        if (roll >= 2_500)
        {
            return false;
        }

        Interlocked.Increment(ref _skips[key]);
        return true;
    }

    private async Task KillAndRestartAsync(TimeSpan end)
    {
        var redis = _localRedis!;
        while (true)
        {
            var next = _options.KillEvery * (_kills + 1);
            if (next + RedisDownFor > end)
            {
                return;
            }

            await Task.Delay(next - _clock.Elapsed);
            Volatile.Write(ref _outageEndsTicks, long.MaxValue);
            redis.Kill();
            Interlocked.Increment(ref _kills);
            Console.WriteLine($"  {_clock.Elapsed.TotalSeconds,6:F1} s  redis-server killed (SIGKILL)");
            await Task.Delay(RedisDownFor);
            redis.Start();
            Volatile.Write(ref _outageEndsTicks, (_clock.Elapsed + TimeSpan.FromSeconds(5)).Ticks);
            Console.WriteLine($"  {_clock.Elapsed.TotalSeconds,6:F1} s  redis-server restarted on the same port");
        }
    }

    private async Task ReportProgressAsync(WorkerStats[] workers, TimeSpan end)
    {
        var every = TimeSpan.FromSeconds(10);
        for (var at = every; at < end; at += every)
        {
            await Task.Delay(at - _clock.Elapsed);
            long calls = 0, wrong = 0, failed = 0;
            foreach (var stats in workers)
            {
                calls += Volatile.Read(ref stats.Calls);
                wrong += Volatile.Read(ref stats.Wrong);
                failed += Volatile.Read(ref stats.FailedCount);
            }

            using var process = Process.GetCurrentProcess();
            Console.WriteLine($"  {_clock.Elapsed.TotalSeconds,6:F1} s  {calls,14:N0} calls  {wrong} wrong  {failed} failed  working set {process.WorkingSet64 / 1e6:F0} MB  GC heap {GC.GetTotalMemory(false) / 1e6:F0} MB");
        }
    }

    /// <summary>
    /// Memory executions per key against what explains them: the first call, skip-caches, invalidations, clears of its
    /// group and one expiry per TTL elapsed (an entry lives at least its TTL; the size limit is never reached).
    /// </summary>
    private ExecutionCheck CheckExecutions(TimeSpan elapsed)
    {
        long executions = 0, bound = 0;
        var over = 0;
        for (var key = 0; key < _options.Keys; key++)
        {
            var group = key % MemoryTtls.Length;
            var ttl = MemoryTtls[group];
            var expiries = ttl == Timeout.InfiniteTimeSpan ? 0 : (long)(elapsed.Ticks / ttl.Ticks);
            var keyBound = 1 + _skips[key] + _invalidations[key] + _clears[group] + expiries;
            executions += _memoryExecutions[key];
            bound += keyBound;
            if (_memoryExecutions[key] > keyBound)
            {
                over++;
            }
        }

        return new ExecutionCheck(executions, bound, over);
    }

    /// <summary>
    /// The gauges once two readings agree and every expiring entry has its scheduler item: at the end a never-die refresh
    /// may still be running, and an expiry may be half done at the moment of a reading. Gives up after 10 s (then the
    /// figures show what was left behind).
    /// </summary>
    private async Task<GaugeFigures> CollectSettledGaugesAsync()
    {
        var figures = CollectGauges();
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
            var again = CollectGauges();
            if (again == figures && figures.Settled)
            {
                break;
            }

            figures = again;
        }

        return figures;
    }

    /// <summary>Reads the "Cachify" meter's gauges (as an exporter would), and the <see cref="IMemoryCache"/>'s own count.</summary>
    private GaugeFigures CollectGauges()
    {
        var readings = _gauges.Read();
        var memoryEntries = readings.Sum(CachifyTelemetry.EntryCount, "memory");
        var neverDieEntries = readings.Sum(CachifyTelemetry.EntryCount, "memory", function => function == "soak.neverdie");

        // Every entry with a finite TTL, and every never-die entry, has exactly one item in the scheduler.
        var expiring = Enumerable.Range(0, MemoryTtls.Length).Where(g => MemoryTtls[g] != Timeout.InfiniteTimeSpan).Select(g => $"soak.memory.{g}").ToHashSet();
        var scheduledExpected = neverDieEntries + readings.Sum(CachifyTelemetry.EntryCount, "memory", function => function is not null && expiring.Contains(function));
        return new GaugeFigures(
            MemoryLocks: readings.Sum(CachifyTelemetry.LockCount, "memory"),
            MemoryEntries: memoryEntries,
            NeverDieEntries: neverDieEntries,
            Scheduled: readings.Sum(CachifyTelemetry.ScheduledCount, "memory"),
            ScheduledExpected: scheduledExpected,
            CacheEntries: _cache.Count,
            RedisLocks: readings.Sum(CachifyTelemetry.LockCount, "redis"),
            RedisNeverDieRegistry: readings.Sum(CachifyTelemetry.ScheduledCount, "redis"),
            RedisWaiters: readings.Sum(CachifyTelemetry.LockWaiterCount, "redis"));
    }
}

public sealed record Value(int Key, long Check, long Version)
{
    public static Value Of(int key, long version) => new(key, Checksum(key), version);

    public static long Checksum(int key) => (key * 2654435761L) ^ 0x5DEECE66DL;
}

public readonly record struct ExecutionCheck(long Executions, long Bound, int KeysOverBound);

/// <summary>What the gauges of the "Cachify" meter read at the end of a run, and the <see cref="IMemoryCache"/>'s count.</summary>
public readonly record struct GaugeFigures(long MemoryLocks, long MemoryEntries, long NeverDieEntries, long Scheduled, long ScheduledExpected, long CacheEntries, long RedisLocks, long RedisNeverDieRegistry, long RedisWaiters)
{
    /// <summary>Nothing left behind: empty lock tables, no waiter, one scheduler item per expiring entry, the front matching the cache.</summary>
    public bool Settled => MemoryLocks + RedisLocks + RedisWaiters == 0 && Scheduled == ScheduledExpected && CacheEntries == MemoryEntries;
}

public readonly record struct MemoryFigures(long WorkingSet, long GcHeap)
{
    /// <summary>After a full, compacting collection, so the figures compare.</summary>
    public static MemoryFigures Measure()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var process = Process.GetCurrentProcess();
        return new MemoryFigures(process.WorkingSet64, GC.GetTotalMemory(forceFullCollection: false));
    }
}
