namespace CachifyNet.Tests;

/// <summary>skipCache: runs fresh, stores, restarts the TTL, and never overlaps another execution of the key.</summary>
public class SkipCacheTests : IDisposable
{
    private readonly MemoryFixture _fx = new();

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void SkipCache_RunsFreshUpdatesEntryAndRestartsTtl()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => ++calls).Ttl(TimeSpan.FromSeconds(300)).Backend(_fx.Backend);

        Assert.Equal(1, f.Invoke(1));
        _fx.Advance(TimeSpan.FromSeconds(200));
        Assert.Equal(2, f.Invoke(1, skipCache: true));
        Assert.Equal(2, f.Invoke(1)); // the next normal call gets the fresh value

        _fx.Advance(TimeSpan.FromSeconds(299)); // 499 s after the first write, 299 s after the skip
        Assert.Equal(2, f.Invoke(1));
        _fx.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(3, f.Invoke(1));
    }

    [Fact]
    public async Task SkipCache_Async_RunsFreshUpdatesEntryAndRestartsTtl()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => Task.FromResult(++calls)).Backend(_fx.Backend);

        Assert.Equal(1, await f.Invoke(1));
        _fx.Advance(TimeSpan.FromSeconds(200));
        Assert.Equal(2, await f.Invoke(1, skipCache: true));
        Assert.Equal(2, await f.Invoke(1));
        _fx.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal(2, await f.Invoke(1));
        _fx.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(3, await f.Invoke(1));
    }

    [Fact]
    public async Task SkipCache_WaitsForRunningExecutionThenRuns()
    {
        var running = 0;
        var maxRunning = 0;
        var calls = 0;
        var gates = new[] { NewGate(), NewGate() };
        var f = Cachify.Wrap(async (int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            var now = Interlocked.Increment(ref running);
            Peak.Record(ref maxRunning, now);
            await gates[n - 1].Task;
            Interlocked.Decrement(ref running);
            return n;
        }).Backend(_fx.Backend);

        var normal = f.Invoke(1);
        var skip = f.Invoke(1, skipCache: true);
        Assert.Equal(1, calls); // the skip-cache call waits for the running execution

        gates[0].SetResult();
        Assert.Equal(1, await normal);
        Bounded.Until(() => Volatile.Read(ref calls) == 2, "the skip-cache call starts");
        gates[1].SetResult();
        Assert.Equal(2, await skip);

        Assert.Equal(1, maxRunning);
        Assert.Equal(2, await f.Invoke(1));
    }

    [Fact]
    public async Task SkipCache_ConcurrentSkipCallers_EachRunsOnceOneAtATime()
    {
        const int Callers = 20;
        var running = 0;
        var maxRunning = 0;
        var calls = 0;
        var f = Cachify.Wrap(async (int x) =>
        {
            var now = Interlocked.Increment(ref running);
            Peak.Record(ref maxRunning, now);
            await Task.Yield();
            Interlocked.Decrement(ref running);
            return Interlocked.Increment(ref calls);
        }).Backend(_fx.Backend);

        var results = await Task.WhenAll(Enumerable.Range(0, Callers).Select(_ => Task.Run(() => f.Invoke(1, skipCache: true)))).Within("every skip-cache call returned");

        Assert.Equal(Callers, calls);
        Assert.Equal(1, maxRunning);
        Assert.Equal(Enumerable.Range(1, Callers), results.Order());
    }

    [Fact]
    public void SkipCache_SyncConcurrentSkipCallers_EachRunsOnceOneAtATime()
    {
        const int Callers = 20;
        var running = 0;
        var maxRunning = 0;
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var now = Interlocked.Increment(ref running);
            Peak.Record(ref maxRunning, now);
            Thread.SpinWait(10_000);
            Interlocked.Decrement(ref running);
            return Interlocked.Increment(ref calls);
        }).Backend(_fx.Backend);

        var results = new int[Callers];
        Parallel.For(0, Callers, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = f.Invoke(1, skipCache: true));

        Assert.Equal(Callers, calls);
        Assert.Equal(1, maxRunning);
        Assert.Equal(Enumerable.Range(1, Callers), results.Order());
    }

    [Fact]
    public async Task SkipCache_NormalCallersDuringSkip_JoinTheFreshExecution()
    {
        var calls = 0;
        var gate = NewGate();
        var f = Cachify.Wrap(async (int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 2)
            {
                await gate.Task;
            }

            return n;
        }).Backend(_fx.Backend);

        Assert.Equal(1, await f.Invoke(1));
        f.Invalidate(1);
        var skip = f.Invoke(1, skipCache: true);
        var joiner = f.Invoke(1);
        gate.SetResult();

        Assert.Equal(2, await skip);
        Assert.Equal(2, await joiner);
        Assert.Equal(2, calls);
    }

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
