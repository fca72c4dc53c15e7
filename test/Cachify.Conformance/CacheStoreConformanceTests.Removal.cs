using CachifyNet.Testing;
using Xunit;

namespace CachifyNet.Conformance;

/// <summary>Invalidate and Clear: what they remove, and an execution running while they do.</summary>
public abstract partial class CacheStoreConformanceTests
{
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invalidate_RemovesOnlyThatEntry(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "invalidate", x => Interlocked.Increment(ref calls));
        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(2));

        await f.Invalidate(1);

        Assert.Equal(3, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(2));
        await f.Invalidate(99);                      // nothing to remove: no error
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Clear_RemovesEveryEntryOfTheFunctionOnly(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "clear", x => Interlocked.Increment(ref calls));
        var other = Wrap(async, "clear.not", x => -Interlocked.Increment(ref calls));
        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(2, await f.Invoke(2));
        Assert.Equal(-3, await other.Invoke(1));

        await f.Clear();

        Assert.Equal(4, await f.Invoke(1));
        Assert.Equal(5, await f.Invoke(2));
        Assert.Equal(-3, await other.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [SkippableTheory]
    [InlineData("Invalidate", false)]
    [InlineData("Invalidate", true)]
    [InlineData("Clear", false)]
    [InlineData("Clear", true)]
    public async Task InvalidateOrClear_DuringAnExecution_ItsResultIsReturnedButNotStored(string operation, bool async)
    {
        Need();
        var runs = new GatedRuns();
        var f = WrapAwaiting(async, "removed.running", runs.Body);

        var first = f.Start(1);
        await runs.Entered.Within("the function runs");
        await (operation == "Invalidate" ? f.Invalidate(1) : f.Clear()).Within(operation + " returned");
        runs.Release();

        Assert.Equal(1, await first.Within("the first call returned"));
        Assert.Equal(2, await f.Invoke(1));          // 1 was computed before the removal: not kept
    }
}
