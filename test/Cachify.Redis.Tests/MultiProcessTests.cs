using System.Diagnostics;
using CachifyNet.Internal.Stores;
using CachifyNet.Redis.Internal;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>Real OS processes sharing one redis-server: the lock holds across them, and a dead owner is taken over.</summary>
[Collection(nameof(RedisProcesses))]
public class MultiProcessTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public void Invoke_FourProcessesFiftyCallersEach_RunsOnceInTotal()
    {
        var modes = new[] { "sync", "async", "sync", "async" };
        var workers = modes.Select(mode => new WorkerProcess("stampede", Fixture.EndPoint, Prefix, "mp.stampede", "50", mode)).ToList();
        try
        {
            workers.ForEach(w => w.WaitForLine("ready"));
            workers.ForEach(w => w.Send("go"));

            // Every caller of every process has missed, and the one execution holds the lock until released.
            workers.ForEach(w => w.WaitForLine("issued"));
            Bounded.Until(() => workers.Any(w => w.Lines.Contains("running")), "one process runs the function");
            Assert.Equal(1L, (long)Db.StringGet(Prefix + ":test:executions"));
            workers.ForEach(w => w.Send("release"));

            Assert.All(workers, w => Assert.Equal(0, w.WaitForExit()));
            var results = workers.SelectMany(w => w.Lines).Where(l => l.StartsWith("done ", StringComparison.Ordinal)).ToList();
            Assert.Equal(4, results.Count); // one distinct result per process...
            Assert.Single(results.Distinct()); // ...and the same one everywhere
            Assert.Equal(1L, (long)Db.StringGet(Prefix + ":test:executions"));
            Assert.Equal(1, workers.Sum(w => w.Lines.Count(l => l == "running")));
        }
        finally
        {
            workers.ForEach(w => w.Dispose());
        }
    }

    /// <summary>
    /// How long after the dead owner's lock expires the waiter may start the function. A waiting caller checks the
    /// lock again at most 1 ms after the remaining time Redis reported (LockWait.NextDelay caps each poll there;
    /// <see cref="LockWaitTests"/> pins that exactly), so it takes over one Redis round trip and one thread wake-up
    /// after the expiry. A waiter that missed the expiry would wait until its LockWaitTimeout (<see cref="WaitLimit"/>)
    /// and then run the function without the lock. The bound sits between the two, leaving a loaded CI machine
    /// seconds of room while still telling them apart.
    /// </summary>
    private static readonly TimeSpan TakeoverBound = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    [Trait("Category", "Reliability")]
    [RedisFact]
    public async Task Lock_OwnerProcessKilled_AnotherTakesOverAfterLockTimeoutNotBefore()
    {
        const int LockMs = 1000;
        var lockKey = (RedisKey)LockKey($"{{{Prefix}:v:mp.hold:1}}");

        // This "process" is ready before the owner dies: connected, subscribed, scripts loaded and code compiled (a
        // call on another key), so the takeover is timed from the lock's expiry rather than from a cold start.
        var backend = NewBackend(new RedisCacheOptions { LockTimeout = TimeSpan.FromMilliseconds(LockMs), LockWaitTimeout = WaitLimit });
        var killed = new Stopwatch();
        var startedAfter = TimeSpan.Zero;
        var runs = 0;
        RedisValue lockAtStart = default;
        var f = Cachify.Wrap((int x) =>
        {
            if (x == 1)
            {
                runs++;
                startedAfter = killed.Elapsed;
                lockAtStart = Db.StringGet(lockKey);
            }

            return 42;
        }).Named("mp.hold").NoSelf().Backend(backend);
        Assert.Equal(42, f.Invoke(0));
        Subscribed(backend);

        using (var worker = new WorkerProcess("hold", Fixture.EndPoint, Prefix, "mp.hold", LockMs.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            worker.WaitForLine("running");
            Assert.True(Db.KeyExists(lockKey));
            worker.Kill();
        }

        killed.Start();
        var deadToken = Db.StringGet(lockKey);
        var remaining = (long)Db.Execute("PTTL", lockKey);
        Assert.False(deadToken.IsNull);
        Assert.InRange(remaining, 1, LockMs);

        // On a thread of its own: the waiter blocks it, and must not wait for the thread pool to grow.
        Assert.Equal(42, await Task.Factory.StartNew(() => f.Invoke(1), TaskCreationOptions.LongRunning).Within("the waiter took over"));

        Assert.False(lockAtStart.IsNull);        // the function ran under a lock (a waiter that gave up would run without one)...
        Assert.NotEqual(deadToken, lockAtStart); // ...ours: the dead owner's lock had expired and ours replaced it
        Assert.True(startedAfter >= TimeSpan.FromMilliseconds(remaining - 5), $"took over after {startedAfter.TotalMilliseconds} ms, lock had {remaining} ms left");
        Assert.True(startedAfter < TimeSpan.FromMilliseconds(remaining) + TakeoverBound, $"took over only after {startedAfter.TotalMilliseconds} ms, lock had {remaining} ms left");
        Assert.Equal(1L, (long)Db.StringGet(Prefix + ":test:executions")); // the dead worker ran once
        Assert.Equal(42, f.Invoke(1));
        Assert.Equal(1, runs); // we ran once, and stored the result
    }
}
