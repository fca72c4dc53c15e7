using CachifyNet.Testing;
using Xunit;

namespace CachifyNet.Conformance;

/// <summary>
/// Concurrent callers of one key share one execution, in one process and (where the store has a cross-process lock)
/// across processes; different keys never wait on each other; another process sees the entries and their removal.
/// </summary>
public abstract partial class CacheStoreConformanceTests
{
    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_ConcurrentCallersOfOneKey_RunTheFunctionOnce(bool async)
    {
        Need();
        var callers = async ? 1000 : 100;
        var executions = 0;
        var release = NewGate();
        using var joins = new StampedeJoins(Name("stampede"));
        var f = WrapAwaiting(async, "stampede", async x =>
        {
            Interlocked.Increment(ref executions);
            await release.Task;
            return x * 2;
        });

        var calls = Enumerable.Range(0, callers).Select(_ => f.Start(21)).ToArray();
        Bounded.Until(() => joins.Count == callers - 1, "every other caller joined the one execution");
        release.SetResult();

        Assert.All(await Task.WhenAll(calls).Within("every caller got the value"), v => Assert.Equal(42, v));
        Assert.Equal(1, executions);
    }

    [SkippableTheory]
    [SyncAndAsync]
    [Trait("Category", "Reliability")]
    public async Task Invoke_ConcurrentCallersOfOneKey_TheExecutionThrows_EveryCallerGetsTheExceptionAndNothingIsCached(bool async)
    {
        Need();
        var callers = async ? 100 : 50;
        var executions = 0;
        var release = NewGate();
        using var joins = new StampedeJoins(Name("stampede.throws"));
        var f = WrapAwaiting(async, "stampede.throws", async x =>
        {
            var n = Interlocked.Increment(ref executions);
            await release.Task;
            return n == 1 ? throw new TimeoutException("dependency down") : n;
        });

        var calls = Enumerable.Range(0, callers).Select(_ => f.Start(1)).ToArray();
        Bounded.Until(() => joins.Count == callers - 1, "every other caller joined the one execution");
        release.SetResult();

        foreach (var call in calls)
        {
            Assert.Equal("dependency down", (await Assert.ThrowsAsync<TimeoutException>(() => call.Within("the caller got the exception"))).Message);
        }

        Assert.Equal(1, executions);                 // the failing dependency was called once, not once per caller
        Assert.Equal(2, await f.Invoke(1));          // nothing cached: the next call runs again
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_DifferentKeys_NeverWaitOnEachOther(bool async)
    {
        Need();
        var blocked = NewGate();
        var f = WrapAwaiting(async, "keys.apart", async x =>
        {
            if (x == 1)
            {
                await blocked.Task;
            }

            return x;
        });

        var slow = f.Start(1);
        Assert.Equal(2, await f.Start(2).Within("key 2 returned while key 1 runs"));
        Assert.False(slow.IsCompleted);
        blocked.SetResult();
        Assert.Equal(1, await slow.Within("key 1 returned"));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task AnotherProcess_ReadsTheStoredValue_AndItsInvalidateAndClearReachUs(bool async)
    {
        Need();
        var other = NewBackendOfAnotherProcess();
        var calls = 0;
        var here = Wrap(async, "shared", x => "here" + Interlocked.Increment(ref calls));
        var there = Wrap(async, "shared", x => "there", backend: other);

        Assert.Equal("here1", await here.Invoke(1));
        Assert.Equal("here1", await there.Invoke(1)); // a hit on what this process stored
        await there.Invalidate(1);
        Assert.Equal("here2", await Changed(here, "here1")); // once the change reaches us (a local copy may answer until then)
        await there.Clear();
        Assert.Equal("here3", await Changed(here, "here2"));
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task Invoke_TwoProcessesManyCallersOfOneKey_RunTheFunctionOnceInTotal(bool async)
    {
        Need();
        NeedCrossProcessLock();
        var other = NewBackendOfAnotherProcess();
        var executions = 0;
        var release = NewGate();
        using var joins = new StampedeJoins(Name("xp.stampede"));
        Func<int, Task<string>> Body(string who) => async x =>
        {
            Interlocked.Increment(ref executions);
            await release.Task;
            return who;
        };

        var a = WrapAwaiting(async, "xp.stampede", Body("a"));
        var b = WrapAwaiting(async, "xp.stampede", Body("b"), backend: other);
        var calls = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? a : b).Start(1)).ToArray();

        // In each process one caller runs the function or waits for the other process's lock; the others join it.
        Bounded.Until(() => Volatile.Read(ref executions) == 1 && joins.Count == calls.Length - 2, "one process runs the function and every other caller joined its process's call");
        if (IsWaitingForAnotherProcess(Backend) is not null)
        {
            Bounded.Until(() => IsWaitingForAnotherProcess(Backend) == true || IsWaitingForAnotherProcess(other) == true, "the other process waits for the lock");
        }

        release.SetResult();

        var results = await Task.WhenAll(calls).Within("every caller of both processes got the value");
        Assert.Single(results.Distinct());
        Assert.Equal(1, executions);
    }

    [SkippableTheory]
    [SyncAndAsync]
    public async Task InvalidateInAnotherProcess_DuringAnExecution_ItsResultIsNotStored(bool async)
    {
        Need();
        NeedCrossProcessLock();
        var other = NewBackendOfAnotherProcess();
        var runs = new GatedRuns();
        var here = WrapAwaiting(async, "xp.invalidate", runs.Body);
        var there = Wrap(async, "xp.invalidate", x => -1, backend: other);

        var first = here.Start(1);
        await runs.Entered.Within("the function runs");
        await there.Invalidate(1);
        runs.Release();

        Assert.Equal(1, await first.Within("the first call returned"));
        Assert.Equal(2, await here.Invoke(1));       // not a hit on 1: it was computed before the other process's Invalidate
    }
}
