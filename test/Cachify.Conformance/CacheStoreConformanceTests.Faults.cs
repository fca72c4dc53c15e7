using CachifyNet.Testing;
using Xunit;

namespace CachifyNet.Conformance;

/// <summary>
/// Faults of the store (its server killed and started again): in Silent mode calls keep succeeding uncached, in Throw
/// mode callers get a <see cref="CachifyException"/>; Invalidate and Clear never fail silently; caching resumes once
/// the store is back. Skipped with the fixture's reason where it injects no faults.
/// </summary>
public abstract partial class CacheStoreConformanceTests
{
    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Fault_Silent_StoreDown_CallsRunTheFunctionAndSucceedUncached(bool async)
    {
        Need();
        var fault = NewFaultyStore(StoreErrors.Silent);
        var calls = 0;
        var f = Wrap(async, "fault.silent", x => Interlocked.Increment(ref calls), backend: fault.Backend);
        Assert.Equal(1, await f.Invoke(1));

        fault.Break();

        Assert.Equal(2, await f.Invoke(1));
        Assert.Equal(3, await f.Invoke(1));
        Assert.Equal(4, await f.Invoke(1, skipCache: true));
        Assert.Equal(5, await f.Invoke(2));
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Fault_Silent_StoreDown_InvalidateAndClearFailLoudly(bool async)
    {
        Need();
        var fault = NewFaultyStore(StoreErrors.Silent);
        var f = Wrap(async, "fault.removal", x => x, backend: fault.Backend);
        Assert.Equal(1, await f.Invoke(1));

        fault.Break();

        // They are orders to stop serving values, not optimisations: never silently lost.
        Assert.True(fault.IsStoreError((await Assert.ThrowsAsync<CachifyException>(() => f.Invalidate(1))).InnerException!));
        Assert.True(fault.IsStoreError((await Assert.ThrowsAsync<CachifyException>(() => f.Clear())).InnerException!));
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Fault_Throw_StoreDown_CallersGetCachifyExceptionWithTheStoreError(bool async)
    {
        Need();
        var fault = NewFaultyStore(StoreErrors.Throw);
        var calls = 0;
        var f = Wrap(async, "fault.throw", x => Interlocked.Increment(ref calls), backend: fault.Backend);
        Assert.Equal(1, await f.Invoke(1));

        fault.Break();

        Assert.True(fault.IsStoreError((await Assert.ThrowsAsync<CachifyException>(() => f.Invoke(1))).InnerException!));
        Assert.True(fault.IsStoreError((await Assert.ThrowsAsync<CachifyException>(() => f.Invoke(2))).InnerException!));
        Assert.True(fault.IsStoreError((await Assert.ThrowsAsync<CachifyException>(() => f.Invoke(3, skipCache: true))).InnerException!));
        await Assert.ThrowsAsync<CachifyException>(() => f.Invalidate(1));
        await Assert.ThrowsAsync<CachifyException>(() => f.Clear());
        Assert.Equal(1, calls);                      // nothing ran: the error reached the callers instead
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Fault_Throw_TheFunctionsOwnExceptions_AreNotWrapped(bool async)
    {
        Need();
        var fault = NewFaultyStore(StoreErrors.Throw);
        var f = Wrap(async, "fault.own", x => x == 0 ? throw new ArgumentOutOfRangeException(nameof(x)) : x, backend: fault.Backend);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => f.Invoke(0));
        Assert.Equal(1, await f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Fault_StoreRepaired_CachingResumesWithTheSameBackend(bool async)
    {
        Need();
        var fault = NewFaultyStore(StoreErrors.Silent);
        var calls = 0;
        var f = Wrap(async, "fault.repaired", x => Interlocked.Increment(ref calls), backend: fault.Backend);
        Assert.Equal(1, await f.Invoke(1));
        fault.Break();
        Assert.Equal(2, await f.Invoke(1));

        fault.Repair();

        var stored = await f.Invoke(2);              // stores again...
        Assert.Equal(stored, await f.Invoke(2));     // ...and the next call is a hit
        Assert.Equal(stored, await f.Invoke(2));
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Fault_Silent_StoreDown_LocalCopiesKeepAnsweringUntilTheirTtl(bool async)
    {
        Need();
        var fault = NewFaultyStore(StoreErrors.Silent, localLevel: true);
        var calls = 0;
        var f = Wrap(async, "fault.local", x => Interlocked.Increment(ref calls), ttl: TimeSpan.FromMinutes(1), backend: fault.Backend);
        Assert.Equal(1, await f.Invoke(1));

        fault.Break();

        Assert.Equal(1, await f.Invoke(1));          // the hot key does not run its function while the store is down
        Assert.Equal(2, await f.Invoke(2));          // a key this process never read does (uncached)
        Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(3, await f.Invoke(1));          // the copy expired with its entry
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Fault_StoreBreaksWhileTheFunctionRuns_ItsResultIsReturned(bool async)
    {
        Need();
        var fault = NewFaultyStore(StoreErrors.Silent);
        var runs = new GatedRuns();
        var f = WrapAwaiting(async, "fault.during", runs.Body, backend: fault.Backend);

        var call = f.Start(4);
        await runs.Entered.Within("the function runs");
        fault.Break();
        runs.Release();

        Assert.Equal(1, await call.Within("the call returned"));
    }
}
