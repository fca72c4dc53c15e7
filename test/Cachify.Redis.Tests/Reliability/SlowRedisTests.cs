using CachifyNet.Internal.Stores;
using System.Collections.Concurrent;
using System.Diagnostics;
using CachifyNet.Internal;
using CachifyNet.Redis.Internal;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CachifyNet.Redis.Tests.Reliability;

/// <summary>
/// Redis stops answering without disconnecting (<c>CLIENT PAUSE ... ALL</c>): every call ends within the client's
/// configured timeouts (Silent: with the function's result; Throw: with a <see cref="CachifyException"/>), long before
/// Redis answers again; the thread pool stays responsive while sync and async callers wait; the multiplexer's queue
/// and the lock table stay bounded by the callers and keys in use, not by the calls made; everything drains when
/// Redis answers again.
/// </summary>
[Trait("Category", "Reliability")]
[Collection(nameof(RedisLoad))]
public sealed class SlowRedisTests(ITestOutputHelper output)
{
    private const int TimeoutMs = 500;
    private const int PauseMs = 8_000;
    private const int SyncCallers = 8;
    private const int AsyncCallers = 100;
    private const int Keys = 50;

    /// <summary>
    /// The longest a call may take: two Redis round trips on a miss, each bounded by the 500 ms timeout (async timeouts
    /// are noticed by the multiplexer's 1 s heartbeat), so 3 s at most, plus slack for a loaded 2-core machine.
    /// </summary>
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Callers start calls while Redis is surely paused, until 1 s before it answers again. Calls made while the
    /// multiplexer still holds the silent connection end within <see cref="CallBound"/>: one started late in the window
    /// may end after the pause, and a call that waited for Redis' answer only breaks that bound if it started early.
    /// Once the multiplexer has dropped the connection, a call fails fast (Cachify does not queue behind a missing
    /// connection): one started then must end before Redis answers again, which the window leaves 1 s to do.
    /// </summary>
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(PauseMs - 1000);

    /// <summary>
    /// How far the thread pool may grow above its minimum. Had waiting async callers blocked pool threads, each would
    /// hold one: the pool would grow towards <see cref="AsyncCallers"/> above its minimum (.NET adds threads quickly
    /// when pool threads block on tasks). Half of that leaves room for what the callers' own busy loops cause
    /// (about 20 threads on a 2-core machine).
    /// </summary>
    private const int PoolGrowthLimit = AsyncCallers / 2;

    [RedisFact]
    public async Task SlowRedis_ClientPause_CallsEndWithinTheTimeoutsPoolStaysResponsiveQueueStaysBounded()
    {
        using var server = new RedisServer();
        using var connection = ConnectionMultiplexer.Connect(new ConfigurationOptions
        {
            EndPoints = { server.EndPoint },
            AbortOnConnectFail = false,
            ConnectTimeout = 2000,
            SyncTimeout = TimeoutMs,
            AsyncTimeout = TimeoutMs,
            ReconnectRetryPolicy = new LinearRetry(100),
        });
        using var admin = ConnectionMultiplexer.Connect(new ConfigurationOptions { EndPoints = { server.EndPoint }, AllowAdmin = true });
        using var silent = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "slow", LockTimeout = TimeSpan.FromSeconds(1) });
        using var throwing = new RedisCacheBackend(connection, new RedisCacheOptions { KeyPrefix = "slow-throw", OnError = RedisErrorMode.Throw });
        var executions = 0;
        var f = Cachify.Wrap((int key) => { Interlocked.Increment(ref executions); return key * 2; }).Named("slow.f").NoSelf().Backend(silent);
        var g = Cachify.Wrap(async (int key) => { await Task.Yield(); return key * 2; }).Named("slow.g").NoSelf().Backend(silent);
        var t = Cachify.Wrap((int key) => key * 2).Named("slow.t").NoSelf().Backend(throwing);
        var warm = new Thread(() =>
        {
            // On a thread of its own: a blocked pool thread could delay the multiplexer's reads past the short timeout.
            for (var key = 0; key < Keys / 2; key++)
            {
                f.Invoke(key); // half the keys are hits until the pause, half misses
                g.Invoke(key).GetAwaiter().GetResult(); // bounded by the join
                t.Invoke(key);
            }
        }) { IsBackground = true };
        warm.Start();
        Bounded.Join(warm, "the keys were warmed");
        ThreadPool.GetMinThreads(out var minPoolThreads, out _);

        var calls = new ConcurrentBag<Call>();
        var wrong = new ConcurrentQueue<string>();
        var throwFailures = new ConcurrentQueue<Exception>();
        var probes = new List<TimeSpan>();
        var maxOutstanding = 0L;
        var maxLocks = 0;
        var maxPoolThreads = 0;
        int LocksInUse() => ((ICacheBackend)silent).Services.Keyspaces.Concat(((ICacheBackend)throwing).Services.Keyspaces)
            .Sum(k => ((StoreKeyspace<ArgsKey<int>, int>)k).Locks.Count);

        admin.GetServer(server.EndPoint).Execute("CLIENT", "PAUSE", PauseMs, "ALL");
        var clock = Stopwatch.StartNew();

        var sync = Enumerable.Range(0, SyncCallers).Select(i => new Thread(() =>
        {
            var random = new Random(i);
            while (clock.Elapsed < Window)
            {
                var key = random.Next(Keys);
                var connected = connection.IsConnected;
                var started = clock.Elapsed;
                var value = f.Invoke(key, skipCache: random.Next(10) == 0);
                calls.Add(new("sync", started, clock.Elapsed, connected));
                if (value != key * 2)
                {
                    wrong.Enqueue($"sync {key}: {value}");
                }
            }
        }) { IsBackground = true }).ToList();
        var throwCaller = new Thread(() =>
        {
            var random = new Random(42);
            while (clock.Elapsed < Window)
            {
                var connected = connection.IsConnected;
                var started = clock.Elapsed;
                try
                {
                    t.Invoke(random.Next(Keys));
                }
                catch (Exception error)
                {
                    throwFailures.Enqueue(error);
                }

                calls.Add(new("throw", started, clock.Elapsed, connected));
            }
        }) { IsBackground = true };
        var probe = new Thread(() =>
        {
            // Back-to-back thread-pool probes: how long a work item queued now waits for a pool thread.
            using var ran = new ManualResetEventSlim();
            while (clock.Elapsed < Window)
            {
                ran.Reset();
                var queued = Stopwatch.GetTimestamp();
                ThreadPool.QueueUserWorkItem(static state => ((ManualResetEventSlim)state!).Set(), ran);
                ran.Wait(Bounded.Deadline); // past it, the probe's latency fails the test
                lock (probes)
                {
                    probes.Add(Stopwatch.GetElapsedTime(queued));
                }

                maxLocks = Math.Max(maxLocks, LocksInUse());
                maxPoolThreads = Math.Max(maxPoolThreads, ThreadPool.ThreadCount);
                var outstanding = connection.GetCounters().TotalOutstanding;
                if (outstanding > Interlocked.Read(ref maxOutstanding))
                {
                    Interlocked.Exchange(ref maxOutstanding, outstanding);
                }
            }
        }) { IsBackground = true };
        sync.ForEach(th => th.Start());
        throwCaller.Start();
        probe.Start();

        async Task AsyncCaller(int seed)
        {
            var random = new Random(1000 + seed);
            while (clock.Elapsed < Window)
            {
                var key = random.Next(Keys);
                var connected = connection.IsConnected;
                var started = clock.Elapsed;
                var value = await g.Invoke(key, skipCache: random.Next(10) == 0);
                calls.Add(new("async", started, clock.Elapsed, connected));
                if (value != key * 2)
                {
                    wrong.Enqueue($"async {key}: {value}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, AsyncCallers).Select(i => Task.Run(() => AsyncCaller(i)))).Within("the async callers stopped");
        Bounded.JoinAll([.. sync, throwCaller, probe], "the sync callers, the Throw caller and the probe stopped");
        var endedCalls = clock.Elapsed;

        var byKind = calls.GroupBy(c => c.Kind).ToDictionary(grp => grp.Key, grp => (Count: grp.Count(), Max: grp.Max(c => c.Latency)));
        var afterDrop = calls.Where(c => !c.Connected).ToList();
        output.WriteLine($"Redis paused {PauseMs} ms, client timeouts {TimeoutMs} ms; calls ended by {endedCalls.TotalSeconds:F1} s, " +
            $"{afterDrop.Count} started after the multiplexer dropped the connection (the last ended at {(afterDrop.Count == 0 ? 0 : afterDrop.Max(c => c.Ended).TotalSeconds):F1} s): " +
            string.Join("; ", byKind.Select(k => $"{k.Key} {k.Value.Count} calls, max {k.Value.Max.TotalMilliseconds:F0} ms")) +
            $"; pool probes {probes.Count}, max {probes.Max().TotalMilliseconds:F0} ms, max pool threads {maxPoolThreads}; max outstanding commands {maxOutstanding}, max lock-table keys {maxLocks}; " +
            $"Throw failures: {string.Join(", ", throwFailures.GroupBy(e => e.GetType().Name + "/" + e.InnerException?.GetType().Name).Select(grp => $"{grp.Count()} {grp.Key}"))}");

        Assert.Empty(wrong);
        Assert.All(byKind, k => Assert.True(k.Value.Max < CallBound, $"a {k.Key} call took {k.Value.Max} while Redis was paused"));
        Assert.All(afterDrop, c => Assert.True(c.Ended < TimeSpan.FromMilliseconds(PauseMs), $"a {c.Kind} call started without a connection at {c.Started} waited until {c.Ended}, after Redis answered again"));
        Assert.True(byKind["sync"].Count >= SyncCallers && byKind["async"].Count >= AsyncCallers, "every caller completed calls during the pause");
        Assert.NotEmpty(throwFailures);
        Assert.All(throwFailures, e => Assert.True(
            Assert.IsType<CachifyException>(e).InnerException is RedisTimeoutException or RedisConnectionException,
            $"unexpected inner exception {e.InnerException}")); // a timeout, or the multiplexer dropping the silent connection
        // No starvation: had waiting callers blocked pool threads, the pool would have grown towards the 100 async callers
        // and work items would have waited for its thread injection. Work items still queue behind the callers' own
        // busy loops, hence the generous bounds.
        Assert.True(maxPoolThreads <= minPoolThreads + PoolGrowthLimit, $"the thread pool grew to {maxPoolThreads} threads (minimum {minPoolThreads})");
        Assert.True(probes.Max() < TimeSpan.FromSeconds(2), $"a thread-pool work item waited {probes.Max()}");

        // Bounded queues: the multiplexer holds what callers sent and Redis has not answered (at most one command per
        // caller per timeout), not one per call made; Cachify holds a lock-table entry per key in use, nothing more.
        Assert.InRange(maxOutstanding, 0, (SyncCallers + AsyncCallers + 1) * ((PauseMs / TimeoutMs) + 2));
        Assert.InRange(maxLocks, 0, 3 * Keys);

        // Redis answers again: the connection recovers, the queue drains, nothing stays in flight, hits run nothing.
        Bounded.Until(() => connection.IsConnected && connection.GetCounters().TotalOutstanding == 0, "the multiplexer reconnected and drained");
        Bounded.Until(() => { f.Invoke(1); var before = Volatile.Read(ref executions); return f.Invoke(1) == 2 && Volatile.Read(ref executions) == before; }, "calls are hits again");
        Assert.Equal(0, LocksInUse());
        Assert.Equal(0, silent.Context.Waiters.Count);
        Assert.Equal(0, throwing.Context.Waiters.Count);
    }
}

/// <summary>One call made while Redis was paused: when it started and ended, and whether the multiplexer had a connection then.</summary>
internal readonly record struct Call(string Kind, TimeSpan Started, TimeSpan Ended, bool Connected)
{
    public TimeSpan Latency => Ended - Started;
}

/// <summary>Tests that load the machine or measure the thread pool run alone in this assembly.</summary>
[CollectionDefinition(nameof(RedisLoad), DisableParallelization = true)]
public sealed class RedisLoad;
