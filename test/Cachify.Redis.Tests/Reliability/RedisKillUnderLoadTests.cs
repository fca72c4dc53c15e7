using CachifyNet.Internal.Stores;
using System.Collections.Concurrent;
using System.Diagnostics;
using CachifyNet.Internal;
using CachifyNet.Redis.Internal;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace CachifyNet.Redis.Tests.Reliability;

/// <summary>
/// 30 seconds of mixed load from 8 tasks while redis-server is killed (SIGKILL) twice and restarted behind the same
/// endpoint (<see cref="RestartableRedis"/>): with <see cref="RedisErrorMode.Silent"/> no call fails and no value is wrong; with
/// <see cref="RedisErrorMode.Throw"/> the only failures are <see cref="CachifyException"/>s, they happen only while
/// Redis is away (or within a few seconds of its return), and the backend recovers by itself.
/// </summary>
[Trait("Category", "Reliability")]
[Collection(nameof(RedisLoad))]
public sealed class RedisKillUnderLoadTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(30);

    /// <summary>The load goes on at least this long after the last restart, to see the backends recover.</summary>
    private static readonly TimeSpan AfterLastRestart = TimeSpan.FromSeconds(7);

    /// <summary>When Redis goes down and comes back, from the start of the load.</summary>
    private static readonly (TimeSpan Kill, TimeSpan Restart)[] Outages =
    [
        (TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(11)),
        (TimeSpan.FromSeconds(17), TimeSpan.FromSeconds(22)),
    ];

    /// <summary>How soon after Redis answers again a Throw backend must stop failing ("within a few seconds").</summary>
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(5);

    private const int Keys = 500;

    [RedisFact]
    public async Task Load_RedisKilledAndRestartedTwice_SilentNeverFailsThrowFailsOnlyWithCachifyExceptionAndRecovers()
    {
        using var server = new RestartableRedis();
        var connections = Enumerable.Range(0, 4).Select(_ => server.Connect()).ToList();
        var backends = new[]
        {
            // Two "processes" per mode: each its own multiplexer and backend, sharing a prefix (so their locks meet).
            new RedisCacheBackend(connections[0], new RedisCacheOptions { KeyPrefix = "kill-silent", LockTimeout = TimeSpan.FromSeconds(2) }),
            new RedisCacheBackend(connections[1], new RedisCacheOptions { KeyPrefix = "kill-silent", LockTimeout = TimeSpan.FromSeconds(2) }),
            new RedisCacheBackend(connections[2], new RedisCacheOptions { KeyPrefix = "kill-throw", LockTimeout = TimeSpan.FromSeconds(2), OnError = RedisErrorMode.Throw }),
            new RedisCacheBackend(connections[3], new RedisCacheOptions { KeyPrefix = "kill-throw", LockTimeout = TimeSpan.FromSeconds(2), OnError = RedisErrorMode.Throw }),
        };
        try
        {
            var ttls = new[] { TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30) };
            var functions = backends.Select(backend => new Functions(backend, ttls)).ToArray();
            var stats = backends.Select(_ => new Stats()).ToArray();
            var clock = Stopwatch.StartNew();
            var end = new End(Duration);
            var events = new ConcurrentQueue<string>();

            // Tasks 0-3 Silent, 4-7 Throw; even tasks sync (a dedicated thread), odd tasks async.
            var tasks = Enumerable.Range(0, 8).Select(t =>
            {
                var b = t / 2;
                return t % 2 == 0
                    ? Task.Factory.StartNew(() => RunSync(functions[b], stats[b], clock, end, seed: t), TaskCreationOptions.LongRunning)
                    : RunAsync(functions[b], stats[b], clock, end, seed: t);
            }).ToList();

            // The outages, on the load's own clock: this thread drives them between calls of its own (a time-boxed
            // load loop on the first Silent backend; nothing sleeps).
            var restartedAt = new List<TimeSpan>();
            var killedAt = new List<TimeSpan>();
            var steps = Outages.SelectMany(o => new[] { (At: o.Kill, Kill: true), (At: o.Restart, Kill: false) }).ToList();
            var driver = new Random(99);
            foreach (var step in steps)
            {
                while (clock.Elapsed < step.At)
                {
                    var key = driver.Next(Keys);
                    var started = clock.Elapsed;
                    try
                    {
                        stats[0].Check(key, functions[0].Sync[key % ttls.Length].Invoke(key), started, clock.Elapsed);
                    }
                    catch (Exception error)
                    {
                        stats[0].Failed(started, error);
                    }
                }

                if (step.Kill)
                {
                    killedAt.Add(clock.Elapsed);
                    server.Kill(); // SIGKILL, then waits for the process to be reaped
                }
                else
                {
                    server.Start(); // a new server behind the endpoint; returns once it answers PING
                    restartedAt.Add(clock.Elapsed);
                    end.AtLeast(clock.Elapsed + AfterLastRestart);
                }

                events.Enqueue($"{(step.Kill ? "killed" : "answering again")} at {(step.Kill ? killedAt[^1] : restartedAt[^1]).TotalSeconds:F1} s");
            }

            await Task.WhenAll(tasks).Within("the load tasks ended"); // at most AfterLastRestart after the driver

            for (var b = 0; b < backends.Length; b++)
            {
                output.WriteLine($"{(b < 2 ? "Silent" : "Throw")} backend {b}: {stats[b]}");
            }

            output.WriteLine(string.Join("; ", events));

            var silent = stats[..2];
            var throwing = stats[2..];
            Assert.All(stats, s => Assert.Empty(s.Wrong));
            Assert.All(silent, s => Assert.Empty(s.Failures));
            Assert.All(throwing, s => Assert.All(s.Failures, f => Assert.Equal(nameof(CachifyException), f.Type)));

            // Throw fails only while Redis is away, and stops failing within a few seconds of its return.
            foreach (var failure in throwing.SelectMany(s => s.Failures))
            {
                var explained = Outages.Select((o, i) => (From: killedAt[i], To: restartedAt[i] + Recovery)).Any(w => failure.At >= w.From - TimeSpan.FromMilliseconds(100) && failure.At <= w.To);
                Assert.True(explained, $"a Throw call failed at {failure.At} ({failure.Message}), outside the outages {string.Join(", ", killedAt.Zip(restartedAt))}");
            }

            // A failed Invalidate throws in Silent mode too, and only while Redis is away.
            foreach (var at in stats.SelectMany(s => s.RemovalFailures))
            {
                var explained = Outages.Select((o, i) => (From: killedAt[i], To: restartedAt[i] + Recovery)).Any(w => at >= w.From - TimeSpan.FromMilliseconds(100) && at <= w.To);
                Assert.True(explained, $"an Invalidate failed at {at}, outside the outages {string.Join(", ", killedAt.Zip(restartedAt))}");
            }

            Assert.All(throwing, s => Assert.NotEmpty(s.Failures)); // the outages were seen
            Assert.All(stats, s => Assert.True(s.SucceededAfter(restartedAt[^1] + Recovery) > 100, "calls succeeded after the last restart"));

            // After the load: the backends cache again (a hit runs nothing), and nothing is left in flight.
            foreach (var f in functions)
            {
                f.Sync[2].Invoke(Keys + 1);
                var before = f.Executions;
                Assert.Equal(Value.Of(Keys + 1), f.Sync[2].Invoke(Keys + 1));
                Assert.Equal(before, f.Executions);
            }

            foreach (var backend in backends)
            {
                var services = ((ICacheBackend)backend).Services;
                Assert.All(services.Keyspaces, k => Assert.Equal(0, LockCount(k)));
                Assert.Equal(0, backend.Context.Waiters.Count);
            }
        }
        finally
        {
            foreach (var backend in backends)
            {
                backend.Dispose();
            }

            connections.ForEach(c => c.Dispose());
        }
    }

    private static int LockCount(IKeyspace keyspace) => keyspace switch
    {
        StoreKeyspace<ArgsKey<int>, Value> k => k.Locks.Count,
        _ => 0,
    };

    private static void RunSync(Functions f, Stats stats, Stopwatch clock, End end, int seed)
    {
        var random = new Random(seed);
        while (clock.Elapsed < end.At)
        {
            var key = random.Next(Keys);
            var group = key % f.Sync.Length;
            var roll = random.Next(100);
            var started = clock.Elapsed;
            try
            {
                if (roll < 3)
                {
                    try
                    {
                        f.Sync[group].Invalidate(key);
                        stats.Ok(started, clock.Elapsed);
                    }
                    catch (CachifyException error)
                    {
                        // In both modes a failed Invalidate reaches the caller: it is an order, never dropped silently.
                        stats.RemovalFailed(started, error);
                    }

                    continue;
                }

                var value = f.Sync[group].Invoke(key, skipCache: roll < 10);
                stats.Check(key, value, started, clock.Elapsed);
            }
            catch (Exception error)
            {
                stats.Failed(started, error);
            }
        }
    }

    private static async Task RunAsync(Functions f, Stats stats, Stopwatch clock, End end, int seed)
    {
        var random = new Random(seed);
        while (clock.Elapsed < end.At)
        {
            // Calls that fail fast complete synchronously: yield, or this loop would hold a pool thread for good.
            await Task.Yield();
            var key = random.Next(Keys);
            var group = key % f.Async.Length;
            var roll = random.Next(100);
            var started = clock.Elapsed;
            try
            {
                if (roll < 3)
                {
                    try
                    {
                        await f.Async[group].InvalidateAsync(key);
                        stats.Ok(started, clock.Elapsed);
                    }
                    catch (CachifyException error)
                    {
                        // In both modes a failed Invalidate reaches the caller: it is an order, never dropped silently.
                        stats.RemovalFailed(started, error);
                    }

                    continue;
                }

                var value = await f.Async[group].Invoke(key, skipCache: roll < 10);
                stats.Check(key, value, started, clock.Elapsed);
            }
            catch (Exception error)
            {
                stats.Failed(started, error);
            }
        }
    }

    /// <summary>When the load ends: the planned duration, pushed back by late restarts.</summary>
    private sealed class End(TimeSpan initial)
    {
        private long _ticks = initial.Ticks;

        public TimeSpan At => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

        public void AtLeast(TimeSpan at)
        {
            if (at.Ticks > Interlocked.Read(ref _ticks))
            {
                Interlocked.Exchange(ref _ticks, at.Ticks);
            }
        }
    }

    public sealed record Value(int Key, long Check)
    {
        public static Value Of(int key) => new(key, (key * 2654435761L) ^ 0x5DEECE66DL);
    }

    /// <summary>The wrappers of one backend: sync and async wrappers of one pure function per TTL.</summary>
    private sealed class Functions
    {
        private int _executions;

        public Functions(RedisCacheBackend backend, TimeSpan[] ttls)
        {
            Sync = ttls.Select((ttl, i) => Cachify.Wrap((int key) => Compute(key)).Named($"kill.{i}").NoSelf().Ttl(ttl).Backend(backend)).ToArray();
            Async = ttls.Select((ttl, i) => Cachify.Wrap(async (int key) =>
            {
                await Task.Yield();
                return Compute(key);
            }).Named($"kill.{i}").NoSelf().Ttl(ttl).Backend(backend)).ToArray();
        }

        public CachedFunc<int, Value>[] Sync { get; }

        public AsyncCachedFunc<int, Value>[] Async { get; }

        public int Executions => Volatile.Read(ref _executions);

        private Value Compute(int key)
        {
            Interlocked.Increment(ref _executions);
            return Value.Of(key);
        }
    }

    private sealed class Stats
    {
        private long _calls;
        private long _maxLatencyTicks;
        private readonly ConcurrentBag<TimeSpan> _successes = [];

        public ConcurrentQueue<string> Wrong { get; } = new();

        public ConcurrentQueue<(TimeSpan At, string Type, string Message)> Failures { get; } = new();

        public void Check(int key, Value value, TimeSpan started, TimeSpan ended)
        {
            if (value != Value.Of(key))
            {
                Wrong.Enqueue($"key {key}: {value}");
            }

            Ok(started, ended);
        }

        public void Ok(TimeSpan started, TimeSpan ended)
        {
            Interlocked.Increment(ref _calls);
            var latency = (ended - started).Ticks;
            long seen;
            while (latency > (seen = Interlocked.Read(ref _maxLatencyTicks)) && Interlocked.CompareExchange(ref _maxLatencyTicks, latency, seen) != seen)
            {
            }

            if ((Interlocked.Read(ref _calls) & 63) == 0)
            {
                _successes.Add(ended);
            }
        }

        /// <summary>Invalidates that failed with a <see cref="CachifyException"/> (Redis away), in either mode.</summary>
        public ConcurrentQueue<TimeSpan> RemovalFailures { get; } = new();

        public void RemovalFailed(TimeSpan at, CachifyException error)
        {
            Interlocked.Increment(ref _calls);
            RemovalFailures.Enqueue(at);
        }

        public void Failed(TimeSpan at, Exception error)
        {
            Interlocked.Increment(ref _calls);
            Failures.Enqueue((at, error.GetType().Name, error.Message));
        }

        /// <summary>Successful calls (sampled 1 in 64) that ended after <paramref name="after"/>.</summary>
        public int SucceededAfter(TimeSpan after) => _successes.Count(s => s > after) * 64;

        public override string ToString()
            => $"{Interlocked.Read(ref _calls):N0} calls, {RemovalFailures.Count:N0} failed Invalidates, {Failures.Count:N0} failed ({string.Join(", ", Failures.GroupBy(f => f.Type).Select(g => $"{g.Count()} {g.Key}"))}), " +
               $"{Wrong.Count} wrong, max latency {TimeSpan.FromTicks(Interlocked.Read(ref _maxLatencyTicks)).TotalMilliseconds:F0} ms" +
               (Failures.IsEmpty ? string.Empty : $", failures from {Failures.Min(f => f.At).TotalSeconds:F1} s to {Failures.Max(f => f.At).TotalSeconds:F1} s");
    }
}
