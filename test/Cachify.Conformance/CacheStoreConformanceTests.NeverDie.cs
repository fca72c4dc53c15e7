using CachifyNet.Testing;
using Xunit;

namespace CachifyNet.Conformance;

/// <summary>Never-die entries: refreshed at TTL in the background, readers never miss, failures keep the last good value.</summary>
public abstract partial class CacheStoreConformanceTests
{
    private static readonly TimeSpan NeverDieTtl = TimeSpan.FromSeconds(10);

    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_RefreshesAtTtl_ReadersKeepTheOldValueMeanwhile(bool async)
    {
        Need();
        var runs = new GatedRuns(stopAt: 2);
        var f = WrapAwaiting(async, "nd.refresh", runs.Body, ttl: NeverDieTtl, neverDie: true);
        Assert.Equal(1, await f.Invoke(1));

        Advance(NeverDieTtl - TimeSpan.FromSeconds(1));
        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(1, runs.Runs);                  // not due yet

        Advance(TimeSpan.FromSeconds(1));
        await runs.Entered.Within("the refresh started at the TTL");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(1, await f.Invoke(1).Within("a reader got the old value without waiting for the refresh"));
        }

        runs.Release();
        await Bounded.UntilAsync(async () => await f.Invoke(1) == 2, "the refreshed value is served");
        Assert.Equal(2, runs.Runs);
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_FailedRefresh_KeepsTheLastGoodValueAndRetriesWithBackOff(bool async)
    {
        Need();
        var fail = false;
        var attempts = 0;
        var f = Wrap(async, "nd.fail", x =>
        {
            var n = Interlocked.Increment(ref attempts);
            return Volatile.Read(ref fail) ? throw new InvalidOperationException("source down") : n;
        }, ttl: NeverDieTtl, neverDie: true);
        Assert.Equal(1, await f.Invoke(1));
        Volatile.Write(ref fail, true);

        Advance(NeverDieTtl);                        // refresh 1 fails
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal(2, Volatile.Read(ref attempts));
        Assert.Equal(1, await f.Invoke(1));

        // The next attempt after TTL x 1.25 = 12.5 s, not before.
        Advance(TimeSpan.FromSeconds(11.5));
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal(2, Volatile.Read(ref attempts));
        Advance(TimeSpan.FromSeconds(1));
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal(3, Volatile.Read(ref attempts));
        Assert.Equal(1, await f.Invoke(1));

        // Then after TTL x 1.25^2 = 15.625 s; it succeeds, and the next refresh is one TTL later again.
        Volatile.Write(ref fail, false);
        Advance(TimeSpan.FromSeconds(15.625));
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal(4, Volatile.Read(ref attempts));
        Assert.Equal(4, await f.Invoke(1));
        Advance(NeverDieTtl);
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal(5, await f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_EntryNobodyReads_StopsBeingRefreshedAfterItsIdleTimeout(bool async)
    {
        Need();
        var runs = new int[3];
        var f = Wrap(async, "nd.idle", x => Interlocked.Increment(ref runs[x]), ttl: NeverDieTtl, neverDie: true, idleTimeout: TimeSpan.FromSeconds(25));
        await f.Invoke(1);
        await f.Invoke(2);

        for (var i = 0; i < 5; i++)
        {
            await f.Invoke(1);                       // key 1 is read every period; key 2 never again
            Advance(NeverDieTtl);
            await NeedBackgroundWorkDone(Backend);
        }

        Assert.Equal(6, Volatile.Read(ref runs[1])); // written, then refreshed at 10, 20, 30, 40 and 50 s
        Assert.Equal(3, Volatile.Read(ref runs[2])); // written, refreshed at 10 and 20 s (read 20 s ago < 25 s), then left alone
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_InvalidateDuringARefresh_TheRefreshedValueIsNotServed(bool async)
    {
        Need();
        var runs = new GatedRuns(stopAt: 2);
        var f = WrapAwaiting(async, "nd.invalidated", runs.Body, ttl: NeverDieTtl, neverDie: true);
        Assert.Equal(1, await f.Invoke(1));

        Advance(NeverDieTtl);
        await runs.Entered.Within("the refresh started");
        await f.Invalidate(1);
        runs.Release();
        await NeedBackgroundWorkDone(Backend);

        Assert.Equal(3, await f.Invoke(1));          // 2 was computed before Invalidate: dropped
        Assert.Equal(3, await f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_AndPlainWrappersOfOneFunction_NeverReadEachOthersEntries(bool async)
    {
        Need();
        var version = 0;
        int Body(int x) => Interlocked.Increment(ref version);
        var neverDie = Wrap(async, "nd.shared", Body, ttl: NeverDieTtl, neverDie: true);
        var plain = Wrap(async, "nd.shared", Body, ttl: NeverDieTtl);

        Assert.Equal(1, await neverDie.Invoke(3));
        Assert.Equal(2, await plain.Invoke(3));      // runs: not a hit on the never-die entry
        Assert.Equal(1, await neverDie.Invoke(3));   // and did not replace it
        Assert.Equal(2, await plain.Invoke(3));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_PlainWrapperOfTheSameFunction_ItsInvalidateAndClearLeaveTheNeverDieEntries(bool async)
    {
        Need();
        var version = 0;
        int Body(int x) => Interlocked.Increment(ref version);
        var neverDie = Wrap(async, "nd.removal", Body, ttl: NeverDieTtl, neverDie: true);
        var plain = Wrap(async, "nd.removal", Body, ttl: NeverDieTtl);
        Assert.Equal(1, await neverDie.Invoke(4));
        Assert.Equal(2, await neverDie.Invoke(5));

        // Invalidate and Clear reach the entries the wrapper reads (the README says so): the never-die ones stay.
        await plain.Invalidate(4);
        await plain.Clear();
        Assert.Equal(1, await neverDie.Invoke(4));
        Assert.Equal(2, await neverDie.Invoke(5));

        await neverDie.Clear();
        Assert.Equal(3, await neverDie.Invoke(4));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_BackendDisposed_RefreshingStops(bool async)
    {
        Need();
        var version = 0;
        var backend = OwnBackend(CreateBackend(Time));
        var f = Wrap(async, "nd.disposed", x => Interlocked.Increment(ref version), ttl: NeverDieTtl, neverDie: true, backend: backend);
        Assert.Equal(1, await f.Invoke(1));

        Skip.IfNot(backend is IDisposable, $"{GetType().Name}'s backend is not disposable.");
        ((IDisposable)backend).Dispose();
        Advance(NeverDieTtl * 5);
        await (BackgroundWorkDone(backend) ?? Task.CompletedTask).Within("the background work ended");

        Assert.Equal(1, Volatile.Read(ref version));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    [Trait("Category", "Reliability")]
    public async Task NeverDie_TwoProcesses_RefreshOncePerPeriodInTotal_BothReadTheOldValueMeanwhile(bool async)
    {
        Need();
        NeedCrossProcessLock();
        var other = NewBackendOfAnotherProcess();
        var runs = new GatedRuns(stopAt: 2);
        var here = WrapAwaiting(async, "xp.nd", runs.Body, ttl: NeverDieTtl, neverDie: true);
        var there = WrapAwaiting(async, "xp.nd", runs.Body, ttl: NeverDieTtl, neverDie: true, backend: other);
        Assert.Equal(1, await here.Invoke(1));
        Assert.Equal(1, await there.Invoke(1));     // read, so the other process refreshes it too

        Advance(NeverDieTtl);
        await runs.Entered.Within("one process refreshes");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(1, await here.Invoke(1).Within("this process read the old value"));
            Assert.Equal(1, await there.Invoke(1).Within("the other process read the old value"));
        }

        runs.Release();
        await NeedBackgroundWorkDone(Backend);
        await NeedBackgroundWorkDone(other);
        Assert.Equal(2, await here.Invoke(1));
        Assert.Equal(2, await there.Invoke(1));

        for (var period = 2; period <= 5; period++)
        {
            Advance(NeverDieTtl);
            await NeedBackgroundWorkDone(Backend);
            await NeedBackgroundWorkDone(other);
        }

        Assert.Equal(6, runs.Runs);                  // written, then one refresh per period in both processes together
        Assert.Equal(6, await there.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_EntryRemovedInAnotherProcess_ThisProcessStopsRefreshingAndNeverWritesItBack(bool async)
    {
        Need();
        var other = NewBackendOfAnotherProcess();
        var runs = 0;
        var here = Wrap(async, "xp.nd.gone", x => Interlocked.Increment(ref runs), ttl: NeverDieTtl, neverDie: true);
        var there = Wrap(async, "xp.nd.gone", x => -1, ttl: NeverDieTtl, neverDie: true, backend: other);
        Assert.Equal(1, await here.Invoke(1));       // this process wrote it, and refreshes it

        await there.Invalidate(1);                   // another process removes it
        Advance(NeverDieTtl);                        // due here: the refresh finds it gone
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal(1, Volatile.Read(ref runs));    // not refreshed: a removed entry is not written back

        Assert.Equal(-1, await there.Invoke(1));     // the next call anywhere computes it anew
        Advance(NeverDieTtl);
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal(1, Volatile.Read(ref runs));    // and this process no longer refreshes it
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task NeverDie_TheWritingProcessGone_AReadingProcessRefreshes(bool async)
    {
        Need();
        var writerBackend = NewBackendOfAnotherProcess();
        var writer = Wrap(async, "xp.nd.handover", x => "written", ttl: NeverDieTtl, neverDie: true, backend: writerBackend);
        var reader = Wrap(async, "xp.nd.handover", x => "refreshed", ttl: NeverDieTtl, neverDie: true);

        Assert.Equal("written", await writer.Invoke(1));
        Assert.Equal("written", await reader.Invoke(1)); // a hit: the reading process registers the entry
        Skip.IfNot(writerBackend is IDisposable, $"{GetType().Name}'s backend is not disposable.");
        ((IDisposable)writerBackend).Dispose();       // the writing process stops

        Advance(NeverDieTtl);
        await NeedBackgroundWorkDone(Backend);
        Assert.Equal("refreshed", await reader.Invoke(1));
    }
}
