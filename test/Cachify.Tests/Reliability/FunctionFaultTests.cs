using Xunit.Abstractions;

namespace CachifyNet.Tests.Reliability;

/// <summary>
/// The cached function misbehaves: it throws after its callers cancelled, it throws a cancellation of its own, it
/// hangs past a timeout and then throws. (Plain throws and null results are covered by the store conformance suite,
/// MemoryConformanceTests; hangs in StampedeTests and TimeoutTests.)
/// </summary>
[Trait("Category", "Reliability")]
public class FunctionFaultTests : IDisposable
{
    private readonly CountingClock _time = new();
    private readonly MemoryFixture _fx;
    private readonly ITestOutputHelper _output;

    public FunctionFaultTests(ITestOutputHelper output)
    {
        _output = output;
        _fx = new MemoryFixture(time: _time);
    }


    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task Invoke_ThrowsAfterEveryCallerCancelled_CallersGetTheirCancellationAndNextCallRunsFresh()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                entered.SetResult();
                var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (token.Register(() => cancelled.SetResult()))
                {
                    await cancelled.Task;
                }

                throw new InvalidOperationException("cleanup failed after cancellation");
            }

            return x * 10;
        }).Backend(_fx.Backend);
        using var a = new CancellationTokenSource();
        using var b = new CancellationTokenSource();

        var first = f.Invoke(1, a.Token);
        var second = f.Invoke(1, b.Token);
        await entered.Task.Within("the function started");
        await a.CancelAsync();
        await b.CancelAsync();

        // Each caller sees its own cancellation, not the function's late exception.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Within("the first caller gave up"));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Within("the second caller gave up"));
        Assert.Equal(10, await f.Invoke(1, CancellationToken.None));
        Assert.Equal(10, await f.Invoke(1, CancellationToken.None));
        Assert.Equal(2, executions);
        Assert.Equal(0, Internals.Keyspace(f.CurrentTargetedBinding).Locks.Count);
    }

    [Fact]
    public async Task Invoke_ThrowsACancellationOfItsOwn_EveryWaiterGetsItAndNothingIsCached()
    {
        // Such as an HTTP client's own timeout: an OperationCanceledException no caller asked for.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var f = Cachify.Wrap(async (int x) =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                await release.Task;
                throw new OperationCanceledException("the dependency timed out");
            }

            return x;
        }).Backend(_fx.Backend);
        var g = Cachify.Wrap((int x) => Interlocked.Increment(ref executions) == 3 ? throw new OperationCanceledException("sync") : x).Backend(_fx.Backend);

        var callers = Enumerable.Range(0, 10).Select(_ => f.Invoke(7)).ToArray();
        release.SetResult();
        foreach (var caller in callers)
        {
            Assert.Equal("the dependency timed out", (await Assert.ThrowsAnyAsync<OperationCanceledException>(() => caller)).Message);
        }

        Assert.Equal(7, await f.Invoke(7));
        Assert.Equal("sync", Assert.Throws<OperationCanceledException>(() => g.Invoke(7)).Message);
        Assert.Equal(7, g.Invoke(7));
        Assert.Equal(4, executions);
    }

    [Fact]
    public async Task Timeout_FunctionThrowsAfterItsTokenIsCancelled_CallersGetTimeoutNothingStoredNextCallFresh()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thrownLate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                entered.SetResult();
                var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (token.Register(() => cancelled.SetResult()))
                {
                    await cancelled.Task;
                }

                thrownLate.SetResult();
                throw new InvalidOperationException("late failure");
            }

            return x;
        }).Timeout(TimeSpan.FromSeconds(2)).Backend(_fx.Backend);

        var call = f.Invoke(3, CancellationToken.None);
        await entered.Task.Within("the function started");
        _time.Fake.Advance(TimeSpan.FromSeconds(2));

        await Assert.ThrowsAsync<TimeoutException>(() => call.Within("the call timed out"));
        await thrownLate.Task.Within("the abandoned execution threw");
        Assert.Equal(3, await f.Invoke(3, CancellationToken.None));
        Assert.Equal(2, executions);
        Assert.Equal(1, _fx.Cache.Count);
    }

    [Fact]
    public async Task Timeout_SyncHangOnSeveralKeys_EveryCallerIsReleasedAtTheTimeout()
    {
        using var hang = new ManualResetEventSlim();
        var f = Cachify.Wrap((int x) =>
        {
            if (x < 2)
            {
                hang.Wait();
            }

            return x;
        }).Timeout(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);

        var timersBefore = _time.TimersCreated;
        var hung = Enumerable.Range(0, 2).Select(x => Task.Factory.StartNew(() => f.Invoke(x), TaskCreationOptions.LongRunning)).ToArray();
        try
        {
            _time.WaitForTimers(timersBefore + 2); // each hung execution armed its timeout
            // Another key is served, but its execution (a timed sync execution runs on the thread pool) may wait until the
            // pool adds a thread: each hung execution holds one pool thread until it returns (documented, not prevented).
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.Equal(9, f.Invoke(9));
            _output.WriteLine($"another key's call took {watch.Elapsed.TotalMilliseconds:F0} ms with 2 hung executions holding pool threads");
            _time.Fake.Advance(TimeSpan.FromSeconds(5));

            foreach (var call in hung)
            {
                await Assert.ThrowsAsync<TimeoutException>(() => call.Within("a hung key's caller timed out"));
            }
        }
        finally
        {
            hang.Set(); // the abandoned executions end late; their results are not stored
        }

        Bounded.Until(() => Internals.Keyspace(f.CurrentTargetedBinding).Locks.Count == 0, "the abandoned executions ended");
        Assert.Equal(1, _fx.Cache.Count);
    }
}
