namespace CachifyNet.Tests.Reliability;

/// <summary>
/// A never-die function whose dependency fails for 10 TTL periods, then recovers, while readers on other threads
/// keep calling: they are always served the last good value, then the new one, never an error or a miss, and the
/// refreshes of the key never overlap.
/// </summary>
[Trait("Category", "Reliability")]
public class NeverDieOutageTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task NeverDie_DependencyDownForTenTtls_ReadersGetLastGoodValueThenTheNewOne()
    {
        var failing = false;
        var version = 0;
        var running = 0;
        var maxRunning = 0;
        var attempts = 0;
        var f = Cachify.Wrap(async (int key) =>
        {
            var now = Interlocked.Increment(ref running);
            Peak.Record(ref maxRunning, now);
            try
            {
                Interlocked.Increment(ref attempts);
                await Task.Yield();
                return Volatile.Read(ref failing) ? throw new InvalidOperationException("dependency down") : $"v{Interlocked.Increment(ref version)}";
            }
            finally
            {
                Interlocked.Decrement(ref running);
            }
        }).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        Assert.Equal("v1", await f.Invoke(1));
        Volatile.Write(ref failing, true);

        var stop = false;
        var errors = new List<string>();
        var seen = new List<string>[2];
        using var started = new CountdownEvent(2);
        var readers = Enumerable.Range(0, 2).Select(r => new Thread(() =>
        {
            var mine = seen[r] = [];
            var first = true;
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    var value = f.Invoke(1).GetAwaiter().GetResult();
                    lock (mine)
                    {
                        if (mine.Count == 0 || mine[^1] != value)
                        {
                            mine.Add(value);
                        }
                    }
                }
                catch (Exception error)
                {
                    lock (errors)
                    {
                        errors.Add(error.Message);
                    }
                }

                if (first)
                {
                    first = false;
                    started.Signal();
                }
            }
        }) { IsBackground = true }).ToList();
        readers.ForEach(t => t.Start());

        // Every reader has read once (during the outage) before anything moves: one that a loaded machine starts late
        // would otherwise begin after the recovery and only ever see v2.
        Assert.True(started.Wait(Bounded.Deadline), "the readers did not start");

        // Ten TTL periods of outage, in steps: every due refresh fails and backs off; readers keep "v1".
        for (var t = TimeSpan.Zero; t < Ttl * 10; t += Step)
        {
            _fx.Advance(Step);
            await _fx.RefreshesDone();
            Assert.Equal("v1", await f.Invoke(1));
        }

        var failedAttempts = Volatile.Read(ref attempts) - 1;
        Volatile.Write(ref failing, false);

        // Recovery: the next attempt (at most 10 × TTL away, by the back-off) stores v2.
        for (var t = TimeSpan.Zero; await f.Invoke(1) == "v1"; t += Step)
        {
            Assert.True(t <= Ttl * 10, "the value was not refreshed within 10 TTL after recovery");
            _fx.Advance(Step);
            await _fx.RefreshesDone();
        }

        bool SawTheNewValue(List<string>? values)
        {
            if (values is null)
            {
                return false;
            }

            lock (values)
            {
                return values.Count > 0 && values[^1] == "v2";
            }
        }

        Bounded.Until(() => seen.All(SawTheNewValue), "every reader got the new value");
        Volatile.Write(ref stop, true);
        Bounded.JoinAll(readers, "the readers stopped");

        Assert.Empty(errors);
        Assert.All(seen, values => Assert.Equal(["v1", "v2"], values.Take(2)));
        Assert.All(seen, values => Assert.True(values.Count <= 2, string.Join(",", values)));
        Assert.Equal(1, Volatile.Read(ref maxRunning)); // one refresh at a time, never overlapping
        Assert.InRange(failedAttempts, 4, 10);         // back-off: TTL × 1.25ⁿ between attempts, not one per step
        Assert.Equal(1, _fx.ScheduledEntries);         // the never-die registry holds the one live entry
    }
}
