namespace CachifyNet.Tests;

/// <summary>Never-die entries: refreshed at TTL in the background, readers never miss, failures keep the last good value.</summary>
public class NeverDieTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task NeverDie_RefreshesAtTtl()
    {
        var version = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref version)).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        Assert.Equal(1, f.Invoke(1));

        _fx.Advance(Ttl - TimeSpan.FromTicks(1));
        await _fx.RefreshesDone();
        Assert.Equal(1, version); // not yet due

        _fx.Advance(TimeSpan.FromTicks(1));
        await _fx.RefreshesDone();
        Assert.Equal(2, version);
        Assert.Equal(2, f.Invoke(1));

        _fx.Advance(Ttl);
        await _fx.RefreshesDone();
        Assert.Equal(3, f.Invoke(1));
    }

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
    public async Task NeverDie_FailedRefreshKeepsValueAndRetriesWithBackoff()
    {
        var fail = false;
        var attempts = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref attempts);
            return Volatile.Read(ref fail) ? throw new InvalidOperationException("source down") : n;
        }).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        Assert.Equal(1, f.Invoke(1));
        Volatile.Write(ref fail, true);

        _fx.Advance(Ttl); // refresh 1 fails
        await _fx.RefreshesDone();
        Assert.Equal(2, attempts);
        Assert.Equal(1, f.Invoke(1));

        // Next attempt after TTL × 1.25 = 12.5 s, not before.
        _fx.Advance(TimeSpan.FromSeconds(12.5) - TimeSpan.FromTicks(1));
        await _fx.RefreshesDone();
        Assert.Equal(2, attempts);
        _fx.Advance(TimeSpan.FromTicks(1));
        await _fx.RefreshesDone();
        Assert.Equal(3, attempts);
        Assert.Equal(1, f.Invoke(1));

        // Then TTL × 1.25² = 15.625 s.
        _fx.Advance(TimeSpan.FromSeconds(15.625));
        await _fx.RefreshesDone();
        Assert.Equal(4, attempts);

        // Recovery: the next attempt succeeds, the value changes and the back-off resets to TTL.
        Volatile.Write(ref fail, false);
        _fx.Advance(TimeSpan.FromSeconds(10 * 1.25 * 1.25 * 1.25));
        await _fx.RefreshesDone();
        Assert.Equal(5, attempts);
        Assert.Equal(5, f.Invoke(1));
        _fx.Advance(Ttl);
        await _fx.RefreshesDone();
        Assert.Equal(6, f.Invoke(1));
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
    public async Task NeverDie_Async_RefreshesAndKeepsValueOnFailure()
    {
        var fail = false;
        var version = 0;
        var f = Cachify.Wrap(async (int x) =>
        {
            await Task.Yield();
            var n = Interlocked.Increment(ref version);
            return Volatile.Read(ref fail) ? throw new InvalidOperationException("down") : n;
        }).Ttl(Ttl).NeverDie().Backend(_fx.Backend);

        Assert.Equal(1, await f.Invoke(1));
        _fx.Advance(Ttl);
        await _fx.RefreshesDone();
        Assert.Equal(2, await f.Invoke(1));

        Volatile.Write(ref fail, true);
        _fx.Advance(Ttl);
        await _fx.RefreshesDone();
        Assert.Equal(2, await f.Invoke(1));
    }

    [Fact]
    public async Task NeverDie_StopsWhenBackendIsDisposed()
    {
        var version = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref version)).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        f.Invoke(1);

        _fx.Backend.Dispose();
        _fx.Advance(Ttl * 5);
        await _fx.RefreshesDone();

        Assert.Equal(1, version);
        Assert.Equal(0, _fx.ScheduledEntries);
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
    public async Task NeverDie_InvalidateDuringRefresh_RefreshResultIsDropped()
    {
        var version = 0;
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) =>
        {
            var n = Interlocked.Increment(ref version);
            if (n == 2)
            {
                entered.SetResult();
                await release.Task;
            }

            return n;
        }).Ttl(Ttl).NeverDie().Backend(_fx.Backend);
        await f.Invoke(1);

        _fx.Advance(Ttl);
        await entered.Task.Within("the refresh started");
        f.Invalidate(1);
        release.SetResult();
        await _fx.RefreshesDone();

        Assert.Equal(0, _fx.ScheduledEntries);
        Assert.Equal(3, await f.Invoke(1));
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
