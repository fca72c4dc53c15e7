namespace CachifyNet.Tests;

/// <summary>Never-die entries: refreshed at TTL in the background, readers never miss, failures keep the last good value.</summary>
public class NeverDieTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private readonly MemoryFixture _fx = new();

    private static int _versions;

    public void Dispose() => _fx.Dispose();

    /// <summary>A method (not a lambda), so that two wrappers of it have one identity; each run returns a new version.</summary>
    private static int Versioned(int x) => (x * 1000) + Interlocked.Increment(ref _versions);

    [Fact]
    public async Task NeverDie_ReadersKeepOldValueWhileRefreshRuns()
    {
        var version = 0;
        var refreshEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finishRefresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) =>
        {
            var n = Interlocked.Increment(ref version);
            if (n == 2)
            {
                refreshEntered.SetResult();
                await finishRefresh.Task;
            }

            return n;
        }).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        Assert.Equal(1, await f.Invoke(1));

        _fx.Advance(Ttl);
        await refreshEntered.Task.Within("the refresh started");
        for (var i = 0; i < 100; i++)
        {
            var read = f.Invoke(1);
            Assert.True(read.IsCompletedSuccessfully); // a hit: never a miss, never a wait
            Assert.Equal(1, await read);
        }

        finishRefresh.SetResult();
        await _fx.RefreshesDone();
        Assert.Equal(2, await f.Invoke(1));
        Assert.Equal(2, version);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task NeverDie_BackoffIsCappedAtTenTtl()
    {
        var attempts = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref attempts) == 1 ? 1 : throw new InvalidOperationException()).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        f.Invoke(1);

        // 1.25ⁿ passes 10 after 11 failures; from then on every retry is 100 s apart.
        _fx.Advance(Ttl);
        await _fx.RefreshesDone();
        for (var n = 1; n <= 12; n++)
        {
            _fx.Advance(TimeSpan.FromSeconds(10 * Math.Min(Math.Pow(1.25, n), 10)));
            await _fx.RefreshesDone();
        }

        Assert.Equal(14, attempts);
        _fx.Advance(TimeSpan.FromSeconds(100) - TimeSpan.FromTicks(1));
        await _fx.RefreshesDone();
        Assert.Equal(14, attempts);
        _fx.Advance(TimeSpan.FromTicks(1));
        await _fx.RefreshesDone();
        Assert.Equal(15, attempts);
        Assert.Equal(1, f.Invoke(1));
    }

    [Fact]
    public async Task NeverDie_OneSchedulerTimerForAllEntries()
    {
        var time = new CountingClock();
        using var fx = new MemoryFixture(time: time);
        var version = 0;
        var never = Cachify.Wrap((int x) => Interlocked.Increment(ref version)).Ttl(Ttl).NeverDie().Backend(fx.Backend);
        var ttl = Cachify.Wrap((int x) => x).Ttl(Ttl).Backend(fx.Backend);

        for (var i = 0; i < 200; i++)
        {
            never.Invoke(i);
            ttl.Invoke(i);
        }

        time.Fake.Advance(Ttl);
        await fx.RefreshesDone();

        Assert.Equal(1, time.TimersCreated);
        Assert.Equal(400, version);
    }

    [Fact]
    public async Task NeverDie_IdleEntriesStopRefreshingAndGoAway()
    {
        var version = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref version)).Ttl(Ttl).NeverDie(TimeSpan.FromSeconds(25)).Backend(_fx.Backend);
        f.Invoke(1);
        f.Invoke(2);

        for (var i = 0; i < 4; i++)
        {
            f.Invoke(1); // key 1 is read every period; key 2 never again
            _fx.Advance(Ttl);
            await _fx.RefreshesDone();
        }

        // Key 2: refreshed at 10 s and 20 s (idle 10 s, 20 s < 25 s), dropped at 30 s.
        Assert.Equal(1, _fx.ScheduledEntries);
        var before = version;
        Assert.Equal(before + 1, f.Invoke(2)); // a miss: it runs again
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task NeverDie_InvalidateAndClear_LeaveNoRegistryEntries()
    {
        var f = Cachify.Wrap((int x) => x).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        for (var i = 0; i < 100; i++)
        {
            f.Invoke(i);
        }

        Assert.Equal(100, _fx.ScheduledEntries);
        f.Invalidate(0);
        Assert.Equal(99, _fx.ScheduledEntries);
        f.Clear();
        Assert.Equal(0, _fx.ScheduledEntries);

        _fx.Advance(Ttl * 3);
        await _fx.RefreshesDone();
        Assert.Equal(0, _fx.ScheduledEntries);
    }

    [Fact]
    public async Task NeverDie_PlainWrapperOfTheSameFunctionWithAShorterTtl_NeverReplacesTheNeverDieEntry()
    {
        // One method, so one function identity: only NeverDie tells the two wrappers apart.
        var neverDie = Cachify.Wrap<int, int>(Versioned).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        var plain = Cachify.Wrap<int, int>(Versioned).Ttl(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);
        var first = neverDie.Invoke(2);
        _fx.Advance(TimeSpan.FromSeconds(6));
        _ = plain.Invoke(2);                                          // its own entry: the never-die one stays
        _fx.Advance(TimeSpan.FromSeconds(6));                         // the never-die entry was refreshed at 10 s
        await _fx.RefreshesDone();

        var before = Volatile.Read(ref _versions);
        var refreshed = neverDie.Invoke(2);
        Assert.Equal(before, Volatile.Read(ref _versions));           // a never-die reader never misses
        Assert.NotEqual(first, refreshed);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task NeverDie_InvalidateWhileARefreshStores_RefreshedValueIsNotServedAfterItReturns()
    {
        using var race = new StoreRace();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 2)
            {
                race.PauseOwner(alsoAfterInsert: true);               // the refresh, on a thread-pool thread
            }

            return n;
        }).Ttl(Ttl).NeverDie().Backend(race.Backend);
        Assert.Equal(1, f.Invoke(1));

        // The refresh has checked that it may store when Invalidate starts: Invalidate waits for the store to end,
        // then removes the refreshed entry.
        race.Time.Advance(Ttl);
        Bounded.Wait(race.AtStore, "the refresh is about to store");
        var remover = new RaceThread(() => f.Invalidate(1));
        remover.UntilBlockedOrDone();
        race.Continue();
        Bounded.Wait(race.Inserted, "the refreshed value is in the front");
        remover.Join();

        Assert.Equal(3, f.Invoke(1));                                 // 2 was computed before Invalidate returned
        race.ContinueAfterInsert();
        await ((ICacheBackend)race.Backend).Services.WhenIdle().Within("the refresh ended");
        Assert.Equal(3, f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void NeverDie_WithInfiniteTtl_Throws()
    {
        var f = Cachify.Wrap((int x) => x);
        Assert.Throws<InvalidOperationException>(() => f.Ttl(Timeout.InfiniteTimeSpan).NeverDie());
        Assert.Throws<ArgumentOutOfRangeException>(() => f.NeverDie().Ttl(Timeout.InfiniteTimeSpan));
        Assert.Equal("idleTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => f.NeverDie(TimeSpan.Zero)).ParamName);
    }
}
