using CachifyNet.Internal;

namespace CachifyNet.Tests;

/// <summary>Hard timeouts fail the call and abandon a hung execution; soft timeouts serve the stale value meanwhile.</summary>
[Trait("Category", "Reliability")]
public class TimeoutTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private readonly CountingClock _time = new();
    private readonly MemoryFixture _fx;

    public TimeoutTests() => _fx = new MemoryFixture(time: _time);

    public void Dispose() => _fx.Dispose();

    [Fact]
    public async Task Timeout_AsyncHang_EveryWaiterGetsTimeoutAndTheNextCallStartsFresh()
    {
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls) == 1 ? hang.Task : Task.FromResult(2))
            .Timeout(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);

        var first = f.Invoke(1);
        var second = f.Invoke(1);
        _time.Fake.Advance(TimeSpan.FromSeconds(5));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => first.Within("the first caller timed out"));
        Assert.Contains("timeout", error.Message, StringComparison.OrdinalIgnoreCase);
        await Assert.ThrowsAsync<TimeoutException>(() => second.Within("the second caller timed out"));
        Assert.Equal(2, await f.Invoke(1)); // the hung execution was detached: a new one runs

        hang.SetResult(1);                  // the abandoned execution ends late: its result is not stored
        Assert.Equal(2, await f.Invoke(1));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Timeout_SyncHang_CallerIsReleasedAtTheTimeout()
    {
        using var hang = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                hang.Wait();
                return 1;
            }

            return 2;
        }).Timeout(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);

        var caller = Task.Run(() => f.Invoke(1));
        try
        {
            _time.WaitForTimers(2); // the scheduler's timer, then the execution's timeout
            _time.Fake.Advance(TimeSpan.FromSeconds(5));

            await Assert.ThrowsAsync<TimeoutException>(() => caller.Within("the caller timed out"));
            Assert.Equal(2, f.Invoke(1));
        }
        finally
        {
            hang.Set();
        }

        Assert.Equal(2, f.Invoke(1));
    }

    [Fact]
    public async Task Timeout_CancelsTheFunctionsTokenParameter()
    {
        var observed = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            observed.TrySetResult(token);
            await Task.Delay(Timeout.Infinite, token);
            return x;
        }).Timeout(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);

        var call = f.Invoke(1, CancellationToken.None);
        var token = await observed.Task.Within("the function started");
        _time.Fake.Advance(TimeSpan.FromSeconds(5));

        await Assert.ThrowsAsync<TimeoutException>(() => call.Within("the call timed out"));
        Assert.True(token.IsCancellationRequested);
    }

    [Trait("Category", "Reliability")]
    [Fact]
    public void Timeout_FiresAfterTheResultWasStored_CallersGetTheStoredValueNotATimeout()
    {
        using var race = new StoreRace();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 1)
            {
                race.PauseOwner(alsoAfterInsert: true);               // on the pool thread that runs the execution
            }

            return n;
        }).Timeout(TimeSpan.FromSeconds(5)).Backend(race.Backend);

        var owned = 0;
        var owner = new RaceThread(() => owned = f.Invoke(1));
        Bounded.Wait(race.AtStore, "the owner is about to store");
        race.Continue();
        Bounded.Wait(race.Inserted, "the owner's value is stored (in the front), the call not completed yet");

        race.Time.Advance(TimeSpan.FromSeconds(5));                   // the timeout passes now
        race.ContinueAfterInsert();
        owner.Join();

        // A caller told "timed out, its result will not be cached" while that result is cached and served would be both
        // wrong and inconsistent with the timeout's message: once stored, the execution completes normally.
        Assert.Equal(1, owned);
        Assert.Equal(1, f.Invoke(1));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Timeout_FastExecution_IsUnaffected()
    {
        var calls = 0;
        var f = Cachify.Wrap((int x) => Task.FromResult(x * 10 + Interlocked.Increment(ref calls))).Timeout(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);
        Assert.Equal(11, await f.Invoke(1));

        // Past the timeout (within the 300 s default TTL): a timer left armed by the finished execution would fire
        // now, and must neither fail a call nor evict the stored value.
        _time.Fake.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal(11, await f.Invoke(1)); // a hit: the function did not run again
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task SoftTimeout_ServesTheStaleValueAndStoresTheLateResult()
    {
        var slow = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls) == 1 ? Task.FromResult(1) : slow.Task)
            .Ttl(Ttl).SoftTimeout(TimeSpan.FromSeconds(1), maxStale: TimeSpan.FromMinutes(1)).Backend(_fx.Backend);
        Assert.Equal(1, await f.Invoke(1));
        _time.Fake.Advance(Ttl); // expired: no longer a hit, kept as a stale value

        var call = f.Invoke(1);
        Assert.False(call.IsCompleted);
        _time.Fake.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await call.Within("the soft timeout served")); // the soft timeout served the last value

        slow.SetResult(2);           // the execution goes on and stores its result
        await Bounded.UntilAsync(async () => await f.Invoke(1) == 2, "the late result is stored");
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task SoftTimeout_NoStaleValue_WaitsForTheResult()
    {
        var slow = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap((int x) => slow.Task).SoftTimeout(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)).Backend(_fx.Backend);

        var call = f.Invoke(1);
        _time.Fake.Advance(TimeSpan.FromSeconds(2));
        Assert.False(call.IsCompleted);
        slow.SetResult(7);
        Assert.Equal(7, await call.Within("the call got the result"));
    }

    [Fact]
    public async Task SoftTimeout_StaleOlderThanMaxStale_IsNotServed()
    {
        var slow = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls) == 1 ? Task.FromResult(1) : slow.Task)
            .Ttl(Ttl).SoftTimeout(TimeSpan.FromSeconds(1), maxStale: TimeSpan.FromSeconds(30)).Timeout(TimeSpan.FromSeconds(5)).Backend(_fx.Backend);
        await f.Invoke(1);
        _time.Fake.Advance(TimeSpan.FromSeconds(30)); // the stale value is now too old (and gone)

        var call = f.Invoke(1);
        _time.Fake.Advance(TimeSpan.FromSeconds(1));
        Assert.False(call.IsCompleted);
        _time.Fake.Advance(TimeSpan.FromSeconds(4));
        await Assert.ThrowsAsync<TimeoutException>(() => call.Within("the hard timeout fired")); // the hard timeout applies
        Assert.Equal(0, _fx.Cache.Count);
    }

    [Fact]
    public async Task SoftTimeout_SkipCache_ServesTheCurrentValueWhileTheFreshOneIsComputed()
    {
        var slow = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls) == 1 ? Task.FromResult(1) : slow.Task)
            .SoftTimeout(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)).Backend(_fx.Backend);
        await f.Invoke(1);

        var skip = f.Invoke(1, skipCache: true);
        _time.Fake.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await skip.Within("the soft timeout served the current value"));
        slow.SetResult(2);
        await Bounded.UntilAsync(async () => await f.Invoke(1) == 2, "the fresh value is stored");
    }

    [Fact]
    public async Task SoftTimeout_Sync_ServesTheStaleValue()
    {
        using var slow = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                return 1;
            }

            slow.Wait();
            return 2;
        }).Ttl(Ttl).SoftTimeout(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)).Backend(_fx.Backend);
        Assert.Equal(1, f.Invoke(1));
        _time.Fake.Advance(Ttl);

        var timersBefore = _time.TimersCreated;
        var caller = Task.Run(() => f.Invoke(1));
        try
        {
            _time.WaitForTimers(timersBefore + 1); // the caller waits with its soft timeout armed
            _time.Fake.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(1, await caller.Within("the soft timeout served the stale value"));
        }
        finally
        {
            slow.Set();
        }

        Bounded.Until(() => f.Invoke(1) == 2, "the late result is stored");
    }

    [Fact]
    public async Task SoftTimeout_CallerTookTheStaleValueThenTheLastWaiterCancels_ExecutionGoesOnAndStores()
    {
        var slow = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                return 1;
            }

            started.TrySetResult(token);
            return await slow.Task.WaitAsync(token);
        }).Ttl(Ttl).SoftTimeout(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)).Backend(_fx.Backend);
        Assert.Equal(1, await f.Invoke(1, CancellationToken.None));
        _time.Fake.Advance(Ttl);

        var first = f.Invoke(1, CancellationToken.None);
        var shared = await started.Task.Within("the function started");
        _time.Fake.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await first.Within("the first caller got the stale value"));
        Assert.False(shared.IsCancellationRequested);                       // the execution goes on for the store

        using var cancel = new CancellationTokenSource();
        var second = f.Invoke(1, cancel.Token); // joins, then gives up before its soft timeout
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Within("the second caller returned"));
        Assert.False(shared.IsCancellationRequested);                       // the first caller handed it to the store

        slow.SetResult(2);
        await Bounded.UntilAsync(async () => await f.Invoke(1, CancellationToken.None) == 2, "the late result is stored");
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task SoftTimeout_Sync_CallerTookTheStaleValueThenTheLastWaiterCancels_ExecutionGoesOnAndStores()
    {
        using var slow = new ManualResetEventSlim();
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap((int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                return 1;
            }

            started.TrySetResult(token);
            Assert.True(slow.Wait(Bounded.Deadline, token), "the test released the function");
            return 2;
        }).Ttl(Ttl).SoftTimeout(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)).Backend(_fx.Backend);
        Assert.Equal(1, f.Invoke(1, CancellationToken.None));
        _time.Fake.Advance(Ttl);

        var timersBefore = _time.TimersCreated;
        var first = 0;
        var owner = new RaceThread(() => first = f.Invoke(1, CancellationToken.None));
        var shared = await started.Task.Within("the function started");
        _time.WaitForTimers(timersBefore + 1);                              // the caller waits with its soft timeout armed
        _time.Fake.Advance(TimeSpan.FromSeconds(1));
        owner.Join();
        Assert.Equal(1, first);                                             // the stale value
        Assert.False(shared.IsCancellationRequested);

        using var cancel = new CancellationTokenSource();
        var waiter = new RaceThread(() => Assert.ThrowsAny<OperationCanceledException>(() => f.Invoke(1, cancel.Token)));
        // The detached execution holds one reference to the key's gate, the waiting caller another.
        Bounded.Until(() => Internals.Keyspace(f.CurrentTargetedBinding).Locks.Users(new TargetedKey<ArgsKey<int, CancellationToken>>(f.Self, new(1, default))) >= 2 && waiter.IsBlocked, "the second caller waits");
        cancel.Cancel();
        waiter.Join();
        Assert.False(shared.IsCancellationRequested);                       // the first caller handed it to the store

        slow.Set();
        Bounded.Until(() => f.Invoke(1, CancellationToken.None) == 2, "the late result is stored");
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task SoftTimeout_NoStaleValueAndEveryCallerCancels_TheExecutionIsCancelled()
    {
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                started.TrySetResult(token);
                await Task.Delay(Timeout.Infinite, token);
            }

            return x;
        }).SoftTimeout(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)).Backend(_fx.Backend);
        using var a = new CancellationTokenSource();
        using var b = new CancellationTokenSource();

        var first = f.Invoke(1, a.Token);
        var second = f.Invoke(1, b.Token);
        var shared = await started.Task.Within("the function started");
        _time.Fake.Advance(TimeSpan.FromSeconds(1));                        // past the soft timeout: no stale value, both keep waiting
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);

        await a.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.Within("the first caller returned"));
        Assert.False(shared.IsCancellationRequested);
        await b.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second.Within("the second caller returned"));
        Assert.True(shared.IsCancellationRequested);                        // nobody waits and nobody took a stale value
        Assert.Equal(1, await f.Invoke(1, CancellationToken.None).Within("a new execution ran"));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Timeout_NeverDieRefreshHangs_CountsAsFailureAndKeepsTheValue()
    {
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref calls) == 1 ? Task.FromResult(1) : hang.Task)
            .Ttl(Ttl).NeverDie().Timeout(TimeSpan.FromSeconds(3)).Backend(_fx.Backend);
        await f.Invoke(1);

        _time.Fake.Advance(Ttl); // the refresh starts and hangs
        await Bounded.UntilAsync(() => Task.FromResult(Volatile.Read(ref calls) == 2), "the refresh started");
        _time.Fake.Advance(TimeSpan.FromSeconds(3));
        await _fx.RefreshesDone();

        Assert.Equal(1, await f.Invoke(1));
        Assert.Equal(1, _fx.ScheduledEntries); // rescheduled with back-off
    }

    [Fact]
    public async Task Timeout_NeverDieSyncRefreshHangs_QueuedSkipCacheCallerRunsAfterTheTimeout()
    {
        using var refreshing = new ManualResetEventSlim();
        using var hang = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (n == 2)
            {
                refreshing.Set();
                hang.Wait();
            }

            return n;
        }).Ttl(Ttl).NeverDie().Timeout(TimeSpan.FromSeconds(3)).Backend(_fx.Backend);
        try
        {
            Assert.Equal(1, f.Invoke(1));
            _time.Fake.Advance(Ttl); // the refresh starts and hangs
            Assert.True(refreshing.Wait(TimeSpan.FromSeconds(30)), "the refresh started");

            // A skip-cache call queues behind the running refresh; the refresh's timeout releases it.
            var skip = Task.Run(() => f.Invoke(1, skipCache: true));
            var locks = Internals.Keyspace(f.CurrentTargetedBinding).Locks;
            Bounded.Until(() => locks.Users(new TargetedKey<ArgsKey<int>>(f.Self, new(1))) == 2, "the skip-cache call waits for the refresh");
            Assert.False(skip.IsCompleted);
            _time.Fake.Advance(TimeSpan.FromSeconds(3));

            // Bounded: without the refresh's timeout, the call would wait for the hung refresh forever.
            Assert.Equal(3, await skip.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(3, f.Invoke(1));
        }
        finally
        {
            hang.Set();
        }
    }

    [Fact]
    public void Timeout_InvalidValues_Throw()
    {
        var f = Cachify.Wrap((int x) => x);
        Assert.Equal("timeout", Assert.Throws<ArgumentOutOfRangeException>(() => f.Timeout(TimeSpan.Zero)).ParamName);
        Assert.Equal("softTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => f.SoftTimeout(TimeSpan.Zero, TimeSpan.FromMinutes(1))).ParamName);
        Assert.Equal("maxStale", Assert.Throws<ArgumentOutOfRangeException>(() => f.SoftTimeout(TimeSpan.FromSeconds(1), TimeSpan.Zero)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Timeout(TimeSpan.FromSeconds(1)).SoftTimeout(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => f.SoftTimeout(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1)).Timeout(TimeSpan.FromSeconds(1)));
    }
}
