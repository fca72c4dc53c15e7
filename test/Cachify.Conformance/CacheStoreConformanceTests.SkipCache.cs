using CachifyNet.Testing;
using Xunit;

namespace CachifyNet.Conformance;

/// <summary>skipCache: runs fresh, stores, restarts the TTL, and never overlaps another execution of the key.</summary>
public abstract partial class CacheStoreConformanceTests
{
    [SkippableTheory]
    [SyncAndAsync]
    public async Task SkipCache_RunsFreshStoresAndRestartsTheTtl(bool async)
    {
        Need();
        var calls = 0;
        var f = Wrap(async, "skip", x => Interlocked.Increment(ref calls), ttl: TimeSpan.FromSeconds(300));

        Assert.Equal(1, await f.Invoke(1));
        Advance(TimeSpan.FromSeconds(200));
        Assert.Equal(2, await f.Invoke(1, skipCache: true));
        Assert.Equal(2, await f.Invoke(1));          // the next normal call gets the fresh value

        Advance(TimeSpan.FromSeconds(290));          // 490 s after the first write, 290 s after the skip
        Assert.Equal(2, await f.Invoke(1));
        Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(3, await f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task SkipCache_WhileAnExecutionRuns_WaitsForItThenRuns(bool async)
    {
        Need();
        var running = 0;
        var maxRunning = 0;
        var calls = 0;
        var gates = new[] { NewGate(), NewGate() };
        var f = WrapAwaiting(async, "skip.wait", async x =>
        {
            var n = Interlocked.Increment(ref calls);
            Peak.Record(ref maxRunning, Interlocked.Increment(ref running));
            await gates[n - 1].Task;
            Interlocked.Decrement(ref running);
            return n;
        });

        var normal = f.Start(1);
        Bounded.Until(() => Volatile.Read(ref calls) == 1, "the first execution runs");
        var skip = f.Start(1, skipCache: true);

        gates[0].SetResult();
        Assert.Equal(1, await normal.Within("the first call returned"));
        Bounded.Until(() => Volatile.Read(ref calls) == 2, "the skip-cache call runs");
        gates[1].SetResult();
        Assert.Equal(2, await skip.Within("the skip-cache call returned"));

        Assert.Equal(1, maxRunning);                 // never both at once
        Assert.Equal(2, await f.Invoke(1));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task SkipCache_ConcurrentSkipCallers_EachRunsOnceOneAtATime(bool async)
    {
        Need();
        const int Callers = 10;
        var running = 0;
        var maxRunning = 0;
        var calls = 0;
        var f = Wrap(async, "skip.many", x =>
        {
            Peak.Record(ref maxRunning, Interlocked.Increment(ref running));
            Thread.SpinWait(10_000);
            Interlocked.Decrement(ref running);
            return Interlocked.Increment(ref calls);
        });

        var results = await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => f.Start(1, skipCache: true))).Within("every skip-cache call returned");

        Assert.Equal(Callers, calls);
        Assert.Equal(1, maxRunning);
        Assert.Equal(Enumerable.Range(1, Callers), results.Order());
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task SkipCache_NormalCallersDuringASkip_JoinTheFreshExecution(bool async)
    {
        Need();
        var runs = new GatedRuns(stopAt: 2);
        var f = WrapAwaiting(async, "skip.join", runs.Body);

        Assert.Equal(1, await f.Invoke(1));
        await f.Invalidate(1);                       // a normal caller now misses
        var skip = f.Start(1, skipCache: true);
        await runs.Entered.Within("the skip-cache execution runs");
        var joiner = f.Start(1);
        runs.Release();

        Assert.Equal(2, await skip.Within("the skip-cache call returned"));
        Assert.Equal(2, await joiner.Within("the normal call returned")); // it joined the running execution rather than run its own
        Assert.Equal(2, runs.Runs);
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task SkipCache_WhileAnotherProcessExecutes_WaitsForItThenRunsAndStores(bool async)
    {
        Need();
        NeedCrossProcessLock();
        var other = NewBackendOfAnotherProcess();
        var calls = 0;
        var running = 0;
        var maxRunning = 0;
        var release = NewGate();
        async Task<int> Body(int x)
        {
            var n = Interlocked.Increment(ref calls);
            Peak.Record(ref maxRunning, Interlocked.Increment(ref running));
            if (n == 1)
            {
                await release.Task;
            }

            Interlocked.Decrement(ref running);
            return n;
        }

        var here = WrapAwaiting(async, "xp.skip", Body);
        var there = WrapAwaiting(async, "xp.skip", Body, backend: other);

        var normal = here.Start(1);
        Bounded.Until(() => Volatile.Read(ref calls) == 1, "this process runs the function");
        var skip = there.Start(1, skipCache: true);
        if (IsWaitingForAnotherProcess(other) is not null)
        {
            Bounded.Until(() => IsWaitingForAnotherProcess(other) == true, "the skip-cache call waits for this process's execution");
        }

        release.SetResult();
        Assert.Equal(1, await normal.Within("this process's call returned"));
        Assert.Equal(2, await skip.Within("the other process's skip-cache call returned"));
        Assert.Equal(1, maxRunning);                 // never both at once
        Assert.Equal(2, await Changed(here, 1));     // and it stored its fresh value for everyone (a local copy may answer until the change reaches us)
    }
}
