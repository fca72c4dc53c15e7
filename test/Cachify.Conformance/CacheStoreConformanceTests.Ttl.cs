using Xunit;

namespace CachifyNet.Conformance;

/// <summary>
/// Entries live for their TTL. Each step leaves at least ten seconds on either side of an expiry, so a store that
/// keeps time by its own clock (aged by <see cref="CacheStoreConformanceTests.AgeStoredEntries"/>) is never caught out
/// by the real time a loaded machine takes between two calls.
/// </summary>
public abstract partial class CacheStoreConformanceTests
{
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Ttl_EntryIsServedUntilItsTtl_ThenTheFunctionRunsAgain(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "ttl", x => Interlocked.Increment(ref calls), ttl: TimeSpan.FromSeconds(100));

        Assert.Equal(1, await f.Invoke(1));
        Advance(TimeSpan.FromSeconds(90));
        Assert.Equal(1, await f.Invoke(1));
        Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Ttl_Default_Is300Seconds(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "ttl.default", x => Interlocked.Increment(ref calls));

        Assert.Equal(1, await f.Invoke(1));
        Advance(TimeSpan.FromSeconds(290));
        Assert.Equal(1, await f.Invoke(1));
        Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, await f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Ttl_Infinite_NeverExpires(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "ttl.infinite", x => Interlocked.Increment(ref calls), ttl: Timeout.InfiniteTimeSpan);

        Assert.Equal(1, await f.Invoke(1));
        Advance(TimeSpan.FromDays(1000));
        Assert.Equal(1, await f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Ttl_ShorterReaderOfALongerWritersEntry_NeverServesItOlderThanItsOwnTtl(bool async)
    {
        Need();
        var calls = 0;
        int Body(int x) => Interlocked.Increment(ref calls);
        var longLived = Wrap(async, "ttl.ages", Body, ttl: TimeSpan.FromMinutes(10));
        var shortLived = Wrap(async, "ttl.ages", Body, ttl: TimeSpan.FromSeconds(100));

        Assert.Equal(1, await longLived.Invoke(1));
        Assert.Equal(1, await shortLived.Invoke(1)); // young enough for the short reader: shared
        Advance(TimeSpan.FromSeconds(90));
        Assert.Equal(1, await shortLived.Invoke(1));
        Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, await shortLived.Invoke(1)); // older than its TTL: it runs, and the fresh value replaces the entry
        Assert.Equal(2, await longLived.Invoke(1));
    }
}
