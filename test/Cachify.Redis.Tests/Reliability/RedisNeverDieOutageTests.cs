using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;

namespace CachifyNet.Redis.Tests.Reliability;

/// <summary>
/// A never-die function on Redis, shared by two processes (backends on their own connections), whose dependency fails
/// for 10 TTL periods and then recovers, while readers in both processes keep calling (sync and async): every read is
/// the last good value, then the new one, never an error; refreshes of the key never overlap, in either process.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class RedisNeverDieOutageTests(RedisServerFixture fixture, ITestOutputHelper output) : RedisTestBase(fixture)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMilliseconds(300);

    [RedisFact]
    public async Task NeverDie_DependencyDownForTenTtls_ReadersInTwoProcessesGetLastGoodValueThenTheNewOne()
    {
        var failing = false;
        var version = 0;
        var running = 0;
        var maxRunning = 0;
        var attempts = 0;
        string Body(int key)
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref maxRunning, now);
            try
            {
                Interlocked.Increment(ref attempts);
                Thread.SpinWait(1000); // a little work, so overlapping executions would show
                return Volatile.Read(ref failing) ? throw new InvalidOperationException("dependency down") : $"v{Interlocked.Increment(ref version)}";
            }
            finally
            {
                Interlocked.Decrement(ref running);
            }
        }

        var first = NewBackend();
        var second = NewBackend(connection: NewConnection());
        var syncA = Cachify.Wrap<int, string>(Body).Named("outage").Ttl(Ttl).NeverDie().Backend(first);
        var asyncA = Cachify.Wrap((int key) => Task.Run(() => Body(key))).Named("outage").Ttl(Ttl).NeverDie().Backend(first);
        var syncB = Cachify.Wrap<int, string>(Body).Named("outage").Ttl(Ttl).NeverDie().Backend(second);
        var asyncB = Cachify.Wrap((int key) => Task.Run(() => Body(key))).Named("outage").Ttl(Ttl).NeverDie().Backend(second);
        Assert.Equal("v1", syncA.Invoke(1));
        Volatile.Write(ref failing, true);

        var clock = Stopwatch.StartNew();
        var recoverAt = Ttl * 10;
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

        // The outage: a time-boxed wait on the test's clock while the readers run, then the dependency recovers.
        Wait.Until(() => clock.Elapsed >= recoverAt, "ten TTL periods of outage passed");
        var failedAttempts = Volatile.Read(ref attempts) - 1;
        Volatile.Write(ref failing, false);

        bool AllSawTheNewValue() => Enumerable.Range(0, 4).All(r => sequences.TryGetValue(r, out var seq) && Last(seq) == "v2");
        Wait.Until(AllSawTheNewValue, "every reader got the new value (at most 10 TTL after recovery, by the back-off)");
        var recoveredAfter = clock.Elapsed - recoverAt;
        Volatile.Write(ref stop, true);
        await Task.WhenAll(readers);

        output.WriteLine($"{failedAttempts} failed refresh attempts in {recoverAt.TotalSeconds:F1} s of outage (TTL {Ttl.TotalMilliseconds} ms); " +
            $"new value everywhere {recoveredAfter.TotalSeconds:F2} s after recovery; max concurrent executions {maxRunning}; errors {errors.Count}");
        Assert.Empty(errors);
        Assert.All(sequences.Values, seq => Assert.Equal(["v1", "v2"], seq.Take(2)));
        Assert.All(sequences.Values, seq => Assert.Equal(seq.OrderBy(v => int.Parse(v[1..], System.Globalization.CultureInfo.InvariantCulture)), seq)); // never back to an older value
        Assert.Equal(1, maxRunning);
        Assert.InRange(failedAttempts, 3, 10); // backing off (TTL × 1.25ⁿ), once per period across both processes at most
    }

    private static string? Last(List<string> values)
    {
        lock (values)
        {
            return values.Count == 0 ? null : values[^1];
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
