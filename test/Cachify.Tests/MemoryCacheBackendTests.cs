using CachifyNet.Internal;
using Microsoft.Extensions.Caching.Memory;

namespace CachifyNet.Tests;

public class MemoryCacheBackendTests
{
    [Fact]
    public void SizeLimit_IsHonoured_OneUnitPerEntryByDefault()
    {
        using var fx = new MemoryFixture(sizeLimit: 10);
        var calls = 0;
        var f = Cachify.Wrap((int x) => { calls++; return x; }).Backend(fx.Backend);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i, f.Invoke(i));
            Assert.True(fx.Cache.Count <= 10, $"IMemoryCache holds {fx.Cache.Count} entries");
        }

        Assert.Equal(50, calls);
        fx.Backend.Sweep(); // entries the cache compacted away in the background leave the front too
        Assert.True(Internals.Keyspace(f.CurrentTargetedBinding).Count <= fx.Cache.Count);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void SizeLimit_RejectedInsert_IsDroppedAtOnce()
    {
        using var fx = new MemoryFixture(sizeLimit: 1);
        var calls = 0;
        var f = Cachify.Wrap((int x) => { calls++; return x; }).Backend(fx.Backend);

        f.Invoke(1);
        fx.Cache.Set("app", "entry", new MemoryCacheEntryOptions { Size = 0, Priority = CacheItemPriority.NeverRemove });
        f.Invoke(2); // the cache is full: rejected, so not kept in the front either

        Assert.Equal(2, f.Invoke(2));
        Assert.Equal(3, calls);
        Assert.Equal(1, Internals.Keyspace(f.CurrentTargetedBinding).Count);
    }

    [Fact]
    public void SizeLimit_UsesConfiguredEntrySize()
    {
        using var fx = new MemoryFixture(sizeLimit: 10, entrySize: 2);
        var f = Cachify.Wrap((int x) => x).Backend(fx.Backend);

        for (var i = 0; i < 20; i++)
        {
            f.Invoke(i);
        }

        Assert.True(fx.Cache.Count <= 5);
        Assert.True(Internals.Keyspace(f.CurrentBinding).Count <= 5);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void EntrySize_NotPositive_Throws()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MemoryCacheBackend(new MemoryCacheBackendOptions { EntrySize = 0 }));
        Assert.Contains("EntrySize", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => new MemoryCacheBackend((IMemoryCache)null!));
    }

    [Fact]
    public void Evictions_ByTheApp_RemoveEntriesFromTheFrontAndTheScheduler()
    {
        using var fx = new MemoryFixture();
        var calls = 0;
        var f = Cachify.Wrap((int x) => { calls++; return x; }).Backend(fx.Backend);
        for (var i = 0; i < 10; i++)
        {
            f.Invoke(i);
        }

        fx.Cache.Compact(1.0); // the app (or memory pressure) empties the cache
        fx.Advance(MemorySweeper.Period); // the periodic sweep notices
        Bounded.Until(() => Internals.Keyspace(f.CurrentTargetedBinding).Count == 0, "the sweep ran");

        Assert.Equal(0, fx.ScheduledEntries);
        f.Invoke(1);
        Assert.Equal(11, calls);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task NeverDie_EvictedByTheCache_LeavesTheRegistryAtItsNextRefresh()
    {
        using var fx = new MemoryFixture();
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).Ttl(TimeSpan.FromSeconds(10)).NeverDie().Backend(fx.Backend);
        f.Invoke(1);

        fx.Cache.Compact(1.0);
        fx.Advance(TimeSpan.FromSeconds(10));
        await fx.RefreshesDone();

        Assert.Equal(1, calls);                    // not refreshed: it was evicted
        Assert.Equal(0, fx.ScheduledEntries);
        Assert.Equal(2, f.Invoke(1));
    }

    [Fact]
    public void Entries_SharedAppCache_CountTowardsItsEntries()
    {
        using var fx = new MemoryFixture();
        fx.Cache.Set("app-key", "app-value");
        var f = Cachify.Wrap((int x) => x).Backend(fx.Backend);
        f.Invoke(1);
        f.Invoke(2);

        Assert.Equal(3, fx.Cache.Count);
        Assert.Equal("app-value", fx.Cache.Get<string>("app-key"));
    }

    [Fact]
    public void Expiry_RemovesEntriesFromTheCache()
    {
        using var fx = new MemoryFixture();
        var f = Cachify.Wrap((int x) => x).Ttl(TimeSpan.FromSeconds(1)).Backend(fx.Backend);
        for (var i = 0; i < 10; i++)
        {
            f.Invoke(i);
        }

        fx.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(0, fx.Cache.Count);
        Assert.Equal(0, Internals.Keyspace(f.CurrentBinding).Count);
        Assert.Equal(0, fx.ScheduledEntries);
    }

    [Fact]
    public void Dispose_OwnCache_IsDisposed_AppCache_IsNot()
    {
        var own = new MemoryCacheBackend();
        var f = Cachify.Wrap((int x) => x).Backend(own);
        f.Invoke(1);
        own.Dispose();
        Assert.Throws<ObjectDisposedException>(() => f.Invoke(2));

        using var appCache = new MemoryCache(new MemoryCacheOptions());
        var onApp = new MemoryCacheBackend(appCache);
        onApp.Dispose();
        appCache.Set("still", "usable");
        Assert.Equal("usable", appCache.Get<string>("still"));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task Dispose_WhileAnExecutionRuns_ItsResultIsReturnedButNothingIsStored()
    {
        using var fx = new MemoryFixture();
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap((int x) => release.Task).Backend(fx.Backend);
        var call = f.Invoke(1);
        var keyspace = Internals.Keyspace(f.CurrentTargetedBinding);

        fx.Backend.Dispose();
        release.SetResult(7);

        Assert.Equal(7, await call.Within("the execution returned its result"));
        Assert.Equal(0, keyspace.Count);                           // not in the front
        Assert.Equal(0, fx.Cache.Count);                           // nor in the app's cache
        Assert.Equal(0, fx.ScheduledEntries);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Dispose_WhileAnOwnerStores_ItsValueIsNeitherServedNorLeftInTheAppCache()
    {
        using var race = new StoreRace();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                race.PauseOwner(alsoAfterInsert: true);
            }

            return x;
        }).Backend(race.Backend);

        var owned = 0;
        var owner = new RaceThread(() => owned = f.Invoke(1));
        Bounded.Wait(race.AtStore, "the owner is about to store");
        var disposer = new RaceThread(race.Backend.Dispose);
        disposer.UntilBlockedOrDone();
        race.Continue();
        Bounded.Wait(race.Inserted, "the owner's value is in the front");
        disposer.Join();

        Assert.Throws<ObjectDisposedException>(() => f.Invoke(1)); // not a hit on the late value
        race.ContinueAfterInsert();
        owner.Join();
        Assert.Equal(1, owned);
        Assert.Equal(0, race.CacheCount);                          // nothing left in the app's cache
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Clear_DetachesAnOwnerBetweenItsInsertAndItsAdmit_ANewerStoreLeavesNoOrphanInTheAppCache()
    {
        using var race = new StoreRace();
        using var hold = new ManualResetEventSlim();
        using var holding = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                race.PauseOwner(alsoAfterInsert: true);
            }

            if (x == 2)
            {
                holding.Set();
                Assert.True(hold.Wait(Bounded.Deadline), "the test released key 2");
            }

            return n;
        }).NoSelf().Backend(race.Backend); // no target in the keys: the lock table lists keys 1 and 2 in that order
        var one = new ArgsKey<int>(1);

        // Key 1: the owner's entry is in the front, not yet in the app's cache. Key 2: an execution runs.
        var owner = new RaceThread(() => f.Invoke(1));
        Bounded.Wait(race.AtStore, "the owner is about to store");
        race.Continue();
        Bounded.Wait(race.Inserted, "the owner's entry is in the front, not yet in the app's cache");
        var second = new RaceThread(() => f.Invoke(2));
        Bounded.Wait(holding, "key 2 runs");
        var locks = Internals.Keyspace(f.CurrentBinding).Locks;
        var flightOfTwo = locks.Current(new ArgsKey<int>(2))!;

        RaceThread clearer;
        lock (flightOfTwo.StoreLock)
        {
            // Clear dooms key 1's execution (detaching it), then waits on key 2's store lock, before it removes entries.
            clearer = new RaceThread(f.Clear);
            Bounded.Until(() => locks.Current(one) is null, "Clear detached key 1's execution (it visits the gates in key order: 1, then 2)");

            // Meanwhile a new execution of key 1 replaces the detached owner's entry.
            Assert.Equal(3, f.Invoke(1, skipCache: true));
        }

        clearer.Join();
        race.ContinueAfterInsert();                                    // the first owner adds its replaced entry to the cache
        owner.Join();
        hold.Set();
        second.Join();

        Assert.Equal(0, Internals.Keyspace(f.CurrentBinding).Count);
        Assert.Equal(0, race.CacheCount);                              // nothing the front lost is left in the app's cache
    }

    [Fact]
    public void SystemClock_ExpiresOnTheSchedulerThread()
    {
        using var backend = new MemoryCacheBackend();
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls)).Ttl(TimeSpan.FromMilliseconds(20)).Backend(backend);

        Assert.Equal(1, f.Invoke(1));
        Bounded.Until(() => Internals.Keyspace(f.CurrentTargetedBinding).Count == 0, "the entry expired");
        Assert.Equal(2, f.Invoke(1));
    }
}
