using Xunit;

namespace CachifyNet.Conformance;

/// <summary>Hits and misses, null and default results, exceptions.</summary>
public abstract partial class CacheStoreConformanceTests
{
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_SameArgument_RunsOnceThenHits(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "hits", x => { Interlocked.Increment(ref calls); return "v" + x; });

        Assert.Equal("v2", await f.Invoke(2));
        Assert.Equal("v2", await f.Invoke(2));
        Assert.Equal("v3", await f.Invoke(3));
        Assert.Equal("v3", await f.Invoke(3));
        Assert.Equal(2, calls);
    }

    [SkippableFact]
    public void Invoke_ArityZeroAndEight_CachesEach()
    {
        Need();
        var calls = 0;
        var f0 = Cachify.Wrap(() => Interlocked.Increment(ref calls)).Named(Name("arity0")).NoSelf().Backend(Backend);
        var f8 = Cachify.Wrap((int a, int b, int c, int d, int e, int f, int g, int h) => { Interlocked.Increment(ref calls); return a + b + c + d + e + f + g + h; })
            .Named(Name("arity8")).NoSelf().Backend(Backend);

        Assert.Equal(f0.Invoke(), f0.Invoke());
        Assert.Equal(36, f8.Invoke(1, 2, 3, 4, 5, 6, 7, 8));
        Assert.Equal(36, f8.Invoke(1, 2, 3, 4, 5, 6, 7, 8));
        Assert.Equal(37, f8.Invoke(1, 2, 3, 4, 5, 6, 7, 9));
        Assert.Equal(3, calls);
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_TwoFunctions_NeverShareEntries(bool async)
    {
        Need();
        var f = Wrap(async, "one", x => "one" + x);
        var g = Wrap(async, "two", x => "two" + x);

        Assert.Equal("one1", await f.Invoke(1));
        Assert.Equal("two1", await g.Invoke(1));
        Assert.Equal("one1", await f.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_NullResult_IsCachedAndDistinctFromMissing(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "null", x => { Interlocked.Increment(ref calls); return (string?)null; });

        Assert.Null(await f.Invoke(1));
        Assert.Null(await f.Invoke(1));
        Assert.Equal(1, calls);
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_DefaultValueResult_IsCached(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "zero", x => { Interlocked.Increment(ref calls); return 0; });

        Assert.Equal(0, await f.Invoke(1));
        Assert.Equal(0, await f.Invoke(1));
        Assert.Equal(1, calls);
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_Throws_NothingIsCachedAndTheNextCallRunsAgain(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "throws", x => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("boom") : calls);

        Assert.Equal("boom", (await Assert.ThrowsAsync<InvalidOperationException>(() => f.Invoke(1))).Message);
        Assert.Equal(2, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(1));
    }
}
