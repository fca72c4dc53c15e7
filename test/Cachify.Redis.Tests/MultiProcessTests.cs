using System.Diagnostics;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>Real OS processes sharing one redis-server: the lock holds across them, and a dead owner is taken over.</summary>
public class MultiProcessTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public void Invoke_FourProcessesFiftyCallersEach_RunsOnceInTotal()
    {
        var modes = new[] { "sync", "async", "sync", "async" };
        var workers = modes.Select(mode => new WorkerProcess("stampede", Fixture.Server.EndPoint, Prefix, "mp.stampede", "50", mode)).ToList();
        try
        {
            workers.ForEach(w => w.WaitForLine("ready"));
            workers.ForEach(w => w.Send("go"));

            // Every caller of every process has missed, and the one execution holds the lock until released.
            workers.ForEach(w => w.WaitForLine("issued"));
            Wait.Until(() => workers.Any(w => w.Lines.Contains("running")), "one process runs the function");
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

    [Trait("Category", "Reliability")]
    [RedisFact]
    public async Task Lock_OwnerProcessKilled_AnotherTakesOverAfterLockTimeoutNotBefore()
    {
        const int LockMs = 1000;
        var lockKey = (RedisKey)$"{Prefix}:lock:{{mp.hold:1}}";
        using (var worker = new WorkerProcess("hold", Fixture.Server.EndPoint, Prefix, "mp.hold", LockMs.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        {
            worker.WaitForLine("running");
            Assert.True(Db.KeyExists(lockKey));
            worker.Kill();
        }

        var killed = Stopwatch.StartNew();
        var deadToken = Db.StringGet(lockKey);
        var remaining = (long)Db.Execute("PTTL", lockKey);
        Assert.False(deadToken.IsNull);
        Assert.InRange(remaining, 1, LockMs);

        var backend = NewBackend(new RedisCacheOptions { LockTimeout = TimeSpan.FromMilliseconds(LockMs) });
        var startedAfter = TimeSpan.Zero;
        var runs = 0;
        RedisValue lockAtStart = default;
        var f = Cachify.Wrap((int x) =>
        {
            runs++;
            startedAfter = killed.Elapsed;
            lockAtStart = Db.StringGet(lockKey);
            return 42;
        }).Named("mp.hold").Backend(backend);

        Assert.Equal(42, await Task.Run(() => f.Invoke(1)));

        Assert.NotEqual(deadToken, lockAtStart); // the dead owner's lock had expired: ours replaced it
        Assert.True(startedAfter >= TimeSpan.FromMilliseconds(remaining - 5), $"took over after {startedAfter.TotalMilliseconds} ms, lock had {remaining} ms left");
        Assert.True(startedAfter < TimeSpan.FromMilliseconds(remaining + 5000), $"took over only after {startedAfter.TotalMilliseconds} ms");
        Assert.Equal(1L, (long)Db.StringGet(Prefix + ":test:executions")); // the dead worker ran once
        Assert.Equal(42, f.Invoke(1));
        Assert.Equal(1, runs); // we ran once, and stored the result
    }
}
