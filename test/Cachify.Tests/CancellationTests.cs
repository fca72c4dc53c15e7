using CachifyNet.Internal;

namespace CachifyNet.Tests;

/// <summary>One caller giving up never cancels the execution the others wait for.</summary>
public class CancellationTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task Invoke_OneWaiterCancels_OthersGetTheValueAndItIsCached()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap(async (int x) => { calls++; await release.Task; return x; }).Backend(_fx.Backend);
        using var cts = new CancellationTokenSource();

        var first = f.Invoke(1, cancellationToken: cts.Token);
        var second = f.Invoke(1);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Within("the cancelled caller returned"));

        release.SetResult();
        Assert.Equal(1, await second.Within("the other caller got the value"));
        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Invoke_OwnerCancels_ExecutionStillCompletesAndIsCached()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap(async (int x) => { calls++; await release.Task; return x; }).Backend(_fx.Backend);
        using var cts = new CancellationTokenSource();

        var only = f.Invoke(1, cancellationToken: cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => only.Within("the cancelled owner returned"));
        release.SetResult();

        Assert.Equal(1, await f.Invoke(1).Within("the completed execution's value was served"));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task TokenParameter_IsCancelledOnlyWhenEveryCallerCancelled()
    {
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            started.TrySetResult(token);
            await Task.Delay(Timeout.Infinite, token);
            return x;
        }).Backend(_fx.Backend);
        using var a = new CancellationTokenSource();
        using var b = new CancellationTokenSource();

        var first = f.Invoke(1, a.Token);
        var second = f.Invoke(1, b.Token);
        var shared = await started.Task.Within("the function started");
        Assert.NotEqual(a.Token, shared);

        await a.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Within("the first caller gave up"));
        Assert.False(shared.IsCancellationRequested); // the second caller still waits

        await b.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Within("the second caller gave up"));
        Assert.True(shared.IsCancellationRequested); // nobody waits any more: the work is cancelled
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public async Task TokenParameter_AfterAllCancelled_NextCallerStartsFresh()
    {
        var executions = 0;
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                await Task.Delay(Timeout.Infinite, token);
            }

            return x;
        }).Backend(_fx.Backend);
        using var a = new CancellationTokenSource();

        var first = f.Invoke(1, a.Token);
        await a.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Within("the only caller gave up"));

        Assert.Equal(1, await f.Invoke(1, CancellationToken.None).Within("a fresh execution ran"));
        Assert.Equal(2, executions);
    }

    [Fact]
    public async Task SyncTokenParameter_WaiterCancelsItsWait()
    {
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x, CancellationToken token) => { Interlocked.Increment(ref calls); entered.Set(); release.Wait(); return x; }).Backend(_fx.Backend);
        using var cts = new CancellationTokenSource();

        // Dedicated threads: the owner blocks its thread, and the waiter must not wait for the pool to grow.
        var owner = Task.Factory.StartNew(() => f.Invoke(1, CancellationToken.None), TaskCreationOptions.LongRunning);
        Bounded.Wait(entered, "the owner runs the function");
        var waiter = Task.Factory.StartNew(() => f.Invoke(1, cts.Token), TaskCreationOptions.LongRunning);

        // Cancel only once the waiter is blocked in the key's gate beside the owner: cancelling before would test a
        // call made with a cancelled token, not a wait given up.
        var locks = Internals.Keyspace(f.CurrentTargetedBinding).Locks; // the lambda captures: its keys hold the closure's key
        try
        {
            Bounded.Until(() => locks.Users(new TargetedKey<ArgsKey<int, CancellationToken>>(f.Self, new(1, default))) >= 2, "the waiter waits beside the owner");
            await cts.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiter.Within("the cancelled waiter returned"));
            Assert.False(owner.IsCompleted); // only the waiter gave up: the execution still runs
        }
        finally
        {
            release.Set();
        }

        Assert.Equal(1, await owner.Within("the owner returned"));
        Assert.Equal(1, calls);
    }
}
