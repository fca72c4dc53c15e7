using System.Diagnostics;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// Never-die entries on Redis, in real time (Redis expires the entries; their ages follow the writer's clock): the failed
/// refresh's extended expiry (under the store lock), the registrations that go with a deleted key, Invalidate, Clear and
/// idleness, and the 11 x TTL lifetime. What every store does (refresh at TTL, one refresh per period across processes,
/// back-off, handover) is in the conformance suite (RedisConformanceTests), on a fake clock.
/// </summary>
public class RedisNeverDieTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [Trait("Category", "Reliability")]
    [RedisFact]
    public void NeverDie_FailedRefresh_KeepsTheValueExtendsItsExpiryAndBacksOff()
    {
        var ttl = TimeSpan.FromMilliseconds(300);
        var clock = Stopwatch.StartNew();
        var attempts = new List<TimeSpan>();
        var f = Cachify.Wrap((int x) =>
        {
            lock (attempts)
            {
                attempts.Add(clock.Elapsed);
                return attempts.Count == 1 ? 1 : throw new InvalidOperationException("source down");
            }
        }).Named("nd.fail").NoSelf().Ttl(ttl).NeverDie().Backend(Backend);

        Assert.Equal(1, f.Invoke(1));

        Bounded.Until(() => { lock (attempts) { return attempts.Count >= 4; } }, "three refreshes failed");

        Assert.Equal(1, f.Invoke(1)); // the last good value
        Assert.True(Db.KeyExists(ValueKey(f, 1)));

        // Each failure extends the value to its next attempt plus 11 x TTL, so more than 3,300 ms are left after one:
        // written with 3,300 ms, it has less than that from then on, and an extension past the next attempt plus one
        // TTL never gives more (the retry delay is at most 10 x TTL). A stall of the refreshing processes shorter than
        // a value's lifetime never loses it.
        Bounded.Until(() => (long)Db.Execute("PTTL", ValueKey(f, 1)) > 11 * 300, "a failure extended the value by a whole lifetime");
        lock (attempts)
        {
            // Retries after TTL x 1.25 and TTL x 1.25^2.
            Assert.True(attempts[2] - attempts[1] >= TimeSpan.FromMilliseconds(375 - 30), $"second retry after {(attempts[2] - attempts[1]).TotalMilliseconds} ms");
            Assert.True(attempts[3] - attempts[2] >= TimeSpan.FromMilliseconds(468 - 30), $"third retry after {(attempts[3] - attempts[2]).TotalMilliseconds} ms");
        }
    }

    [RedisFact]
    public void NeverDie_KeyGoneFromRedis_RegistrationIsDropped()
    {
        var f = Cachify.Wrap((int x) => x).Named("nd.gone").NoSelf().Ttl(TimeSpan.FromMilliseconds(200)).NeverDie().Backend(Backend);
        f.Invoke(1);
        var keyspace = Keyspace(f.CurrentBinding);
        Assert.Equal(1, keyspace.NeverDieCount);

        Db.KeyDelete(ValueKey(f, 1)); // another process invalidated it
        Bounded.Until(() => keyspace.NeverDieCount == 0, "the registration noticed the key is gone");
        Assert.False(Db.KeyExists(ValueKey(f, 1))); // and did not bring it back
    }

    [RedisFact]
    public async Task NeverDie_InvalidateAndClear_DropRegistrations()
    {
        var f = Cachify.Wrap((int x) => Task.FromResult(x)).Named("nd.clear").NoSelf().Ttl(TimeSpan.FromMinutes(1)).NeverDie().Backend(Backend);
        var written = Stopwatch.StartNew();
        for (var i = 0; i < 10; i++)
        {
            await f.Invoke(i);
        }

        var keyspace = Keyspace(f.CurrentBinding);
        Assert.Equal(10, keyspace.NeverDieCount);
        AssertExpiresIn(ValueKey(f, 3), TimeSpan.FromMinutes(11), written); // 11 x TTL: outlives failed refreshes
        await f.InvalidateAsync(0);
        Assert.Equal(9, keyspace.NeverDieCount);
        await f.ClearAsync();
        Assert.Equal(0, keyspace.NeverDieCount);
        Assert.Equal(0, ((CachifyNet.Internal.BackendServices)((ICacheBackend)Backend).Services).Scheduler.EntryCount);

        // No value is left; only the function's new generation, which the Clear wrote.
        Assert.Equal([GenerationKeyText("nd.clear~neverdie")], Keys());
    }

    [RedisFact]
    public void NeverDie_Idle_StopsRefreshingButLeavesTheEntryForOthers()
    {
        var executions = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref executions)).Named("nd.idle").NoSelf().Ttl(TimeSpan.FromMilliseconds(200)).NeverDie(TimeSpan.FromMilliseconds(500)).Backend(Backend);
        f.Invoke(1);
        var keyspace = Keyspace(f.CurrentBinding);

        Bounded.Until(() => keyspace.NeverDieCount == 0, "the unread entry went idle");
        var ran = Volatile.Read(ref executions);
        Assert.InRange(ran, 2, 4); // refreshed while younger than the idle limit, then no more
        Assert.True(Db.KeyExists(ValueKey(f, 1))); // other processes may still read it until it expires
    }

}
