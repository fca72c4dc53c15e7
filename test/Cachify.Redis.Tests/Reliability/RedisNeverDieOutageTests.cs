using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace CachifyNet.Redis.Tests.Reliability;

/// <summary>
/// A never-die function on Redis, shared by two processes (backends on their own connections), whose dependency fails
/// until each process has failed to refresh it <see cref="FailuresPerProcess"/> times (over 5 TTL periods, by the
/// back-off) and then recovers, while readers in both processes keep calling (sync and async): every read is the last
/// good value, then the new one, never an error; refreshes of the key never overlap, in either process, and each
/// process backs off between its failed attempts.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class RedisNeverDieOutageTests(RedisServerFixture fixture, ITestOutputHelper output) : RedisTestBase(fixture)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMilliseconds(300);

    /// <summary>.NET timers run on a coarse clock (Environment.TickCount64): they can fire this much early by a Stopwatch.</summary>
    private static readonly TimeSpan TimerTick = TimeSpan.FromMilliseconds(20);

    private const int FailuresPerProcess = 4;

    [RedisFact]
    public async Task NeverDie_DependencyDownForSeveralTtls_ReadersInTwoProcessesGetLastGoodValueThenTheNewOne()
    {
        var failing = false;
        var version = 0;
        var running = 0;
        var maxRunning = 0;
        var clock = new Stopwatch();
        var failures = new[] { new List<TimeSpan>(), new List<TimeSpan>() }; // per process: when its failed attempts started
        var outageLongEnough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string Body(int key, int process)
        {
            var now = Interlocked.Increment(ref running);
            Peak.Record(ref maxRunning, now);
            try
            {
                var started = clock.Elapsed;
                Thread.SpinWait(1000); // a little work, so overlapping executions would show
                if (!Volatile.Read(ref failing))
                {
                    return $"v{Interlocked.Increment(ref version)}";
                }

                lock (failures)
                {
                    failures[process].Add(started);
                    if (failures.All(f => f.Count >= FailuresPerProcess))
                    {
                        outageLongEnough.TrySetResult();
                    }
                }

                throw new InvalidOperationException("dependency down");
            }
            finally
            {
                Interlocked.Decrement(ref running);
            }
        }

        var first = NewBackend();
        var second = NewBackend(connection: NewConnection());
        var syncA = Cachify.Wrap((int key) => Body(key, 0)).Named("outage").NoSelf().Ttl(Ttl).NeverDie().Backend(first);
        var asyncA = Cachify.Wrap((int key) => Task.Run(() => Body(key, 0))).Named("outage").NoSelf().Ttl(Ttl).NeverDie().Backend(first);
        var syncB = Cachify.Wrap((int key) => Body(key, 1)).Named("outage").NoSelf().Ttl(Ttl).NeverDie().Backend(second);
        var asyncB = Cachify.Wrap((int key) => Task.Run(() => Body(key, 1))).Named("outage").NoSelf().Ttl(Ttl).NeverDie().Backend(second);
        Assert.Equal("v1", syncA.Invoke(1));
        Volatile.Write(ref failing, true);
        clock.Start();
        var stop = false;
        var errors = new ConcurrentQueue<string>();
        var sequences = new ConcurrentDictionary<int, List<string>>();
        void Record(int reader, string value)
        {
            var mine = sequences.GetOrAdd(reader, _ => []);
            lock (mine)
            {
                if (mine.Count == 0 || mine[^1] != value)
                {
                    mine.Add(value);
                }
            }
        }

        var readers = new List<Task>
        {
            Task.Factory.StartNew(() => ReadSync(0, syncA), TaskCreationOptions.LongRunning),
            Task.Factory.StartNew(() => ReadSync(1, syncB), TaskCreationOptions.LongRunning),
            ReadAsync(2, asyncA),
            ReadAsync(3, asyncB),
        };

        void ReadSync(int reader, CachedFunc<int, string> f)
        {
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    Record(reader, f.Invoke(1));
                }
                catch (Exception error)
                {
                    errors.Enqueue($"{clock.Elapsed}: {error.GetType().Name}: {error.Message}");
                }
            }
        }

        async Task ReadAsync(int reader, AsyncCachedFunc<int, string> f)
        {
            while (!Volatile.Read(ref stop))
            {
                await Task.Yield();
                try
                {
                    Record(reader, await f.Invoke(1));
                }
                catch (Exception error)
                {
                    errors.Enqueue($"{clock.Elapsed}: {error.GetType().Name}: {error.Message}");
                }
            }
        }

        // The outage lasts until each process has failed to refresh the key several times (no fixed wait), then the
        // dependency recovers.
        await outageLongEnough.Task.Within($"each process failed to refresh the key {FailuresPerProcess} times");
        Volatile.Write(ref failing, false);
        var recoverAt = clock.Elapsed;

        bool AllSawTheNewValue() => Enumerable.Range(0, 4).All(r => sequences.TryGetValue(r, out var seq) && Last(seq) == "v2");
        Bounded.Until(AllSawTheNewValue, "every reader got the new value (at most 10 TTL after recovery, by the back-off)");
        var recoveredAfter = clock.Elapsed - recoverAt;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(readers).Within("the readers stopped");

        List<TimeSpan>[] failed;
        lock (failures)
        {
            failed = [.. failures.Select(f => f.ToList())];
        }

        output.WriteLine($"failed refresh attempts at {string.Join(" / ", failed.Select(f => string.Join(", ", f.Select(t => t.TotalSeconds.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))))} s " +
            $"(TTL {Ttl.TotalMilliseconds} ms), recovered at {recoverAt.TotalSeconds:F2} s; new value everywhere {recoveredAfter.TotalSeconds:F2} s after recovery; " +
            $"max concurrent executions {maxRunning}; errors {errors.Count}");
        Assert.Empty(errors);
        Assert.All(sequences.Values, seq => Assert.Equal(["v1", "v2"], seq.Take(2)));
        Assert.All(sequences.Values, seq => Assert.Equal(seq.OrderBy(v => int.Parse(v[1..], System.Globalization.CultureInfo.InvariantCulture)), seq)); // never back to an older value
        Assert.Equal(1, maxRunning);

        // Backing off: after its n-th failure a process retries no sooner than TTL × 1.25ⁿ (later if the other process
        // held the lock, or the machine was slow), so never more than once per TTL.
        foreach (var times in failed)
        {
            for (var n = 1; n < times.Count; n++)
            {
                var backOff = Ttl * Math.Pow(1.25, n);
                Assert.True(times[n] - times[n - 1] >= backOff - TimerTick, $"a process retried {(times[n] - times[n - 1]).TotalMilliseconds:F0} ms after its failure {n}, before the back-off of {backOff.TotalMilliseconds:F0} ms");
            }
        }
    }

    private static string? Last(List<string> values)
    {
        lock (values)
        {
            return values.Count == 0 ? null : values[^1];
        }
    }
}
