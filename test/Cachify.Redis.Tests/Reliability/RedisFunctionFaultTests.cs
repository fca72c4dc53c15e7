using CachifyNet.Internal;
using Microsoft.Extensions.Time.Testing;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests.Reliability;

/// <summary>
/// The cached function misbehaves on Redis: it hangs past a hard timeout, it is slow past a soft timeout, it throws
/// after its callers cancelled. The distributed lock must never outlive the execution that matters.
/// </summary>
[Trait("Category", "Reliability")]
public sealed class RedisFunctionFaultTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public async Task Timeout_HungOwner_CallersGetTimeoutAndTheLockIsReleasedForTheNextCall()
    {
        // The hard timeout on a fake clock (its timer is armed when the execution starts, before the function runs). It
        // starts at the real time: entries carry their writer's clock, and the other process reads their age on its own.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        Task<int> Body(int x)
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                started.TrySetResult();
                return hang.Task;
            }

            return Task.FromResult(x * 10);
        }

        var timeout = TimeSpan.FromMilliseconds(300);
        var f = Cachify.Wrap<int, int>(Body).Named("hung").NoSelf().Timeout(timeout).Backend(NewBackend(new RedisCacheOptions { TimeProvider = time }));
        var other = Cachify.Wrap<int, int>(Body).Named("hung").NoSelf().Timeout(TimeSpan.FromSeconds(5)).Backend(NewBackend(connection: NewConnection()));

        var call = f.Invoke(1);
        await started.Task.Within("the function runs");
        var flight = Keyspace(f.CurrentBinding).Locks.Current(new ArgsKey<int>(1));
        Assert.NotNull(flight);

        // Released by the timeout (the timer fires inside Advance), not before it.
        time.Advance(timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(flight.Task.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(flight.Task.IsFaulted);
        await Assert.ThrowsAsync<TimeoutException>(() => call.Within("the call timed out"));

        // The hung execution was abandoned: its lock goes with it, so the next call (here, or in another process)
        // runs the function at once instead of waiting for a lock nobody will release.
        Bounded.Until(() => !Db.KeyExists(LockKey(ValueKey(f, 1))), "the abandoned execution's lock is released");
        Assert.Equal(10, await f.Invoke(1).Within("the next call ran the function"));
        Assert.Equal(10, await other.Invoke(1).Within("the other process read the value")); // a hit: the fresh value was stored

        hang.SetResult(-1); // the abandoned execution ends late: its result is not stored
        Assert.Equal(10, await f.Invoke(1));
        Assert.Equal(2, executions);
    }

    [RedisFact]
    public async Task Timeout_SyncHungOwner_LockIsReleasedForTheNextCall()
    {
        var time = new FakeTimeProvider();
        using var entered = new ManualResetEventSlim();
        using var hang = new ManualResetEventSlim();
        var executions = 0;
        var f = Cachify.Wrap((int x) =>
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                entered.Set();
                hang.Wait();
            }

            return x * 10;
        }).Named("hung.sync").NoSelf().Timeout(TimeSpan.FromMilliseconds(300)).Backend(NewBackend(new RedisCacheOptions { TimeProvider = time }));

        // The caller on a thread of its own; the hung execution holds a pool thread until it returns. The next
        // call's timeout, on the fake clock, never fires however long it waits for a pool thread.
        var caller = Task.Factory.StartNew(() => f.Invoke(1), TaskCreationOptions.LongRunning);
        try
        {
            Bounded.Wait(entered, "the function runs");
            time.Advance(TimeSpan.FromMilliseconds(300));
            await Assert.ThrowsAsync<TimeoutException>(() => caller.Within("the caller was released at the timeout"));

            Bounded.Until(() => !Db.KeyExists(LockKey(ValueKey(f, 1))), "the abandoned execution's lock is released");
            Assert.Equal(10, f.Invoke(1));
        }
        finally
        {
            hang.Set();
        }

        Assert.Equal(10, f.Invoke(1));
        Assert.Equal(2, executions);
    }

    [RedisFact]
    public async Task Timeout_WaitingForAnotherProcess_TheAbandonedWaitStopsAndNeverRunsTheFunctionLate()
    {
        var time = new FakeTimeProvider();
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var owner = Cachify.Wrap((int x) => { Interlocked.Increment(ref executions); holding.TrySetResult(); return hang.Task; })
            .Named("abandoned.wait").NoSelf().Backend(NewBackend(connection: NewConnection()));

        // The hard timeout on the fake clock; the wait for the lock on the real one (LockWaitTimeout, polls up to
        // LockTimeout / 4 = 500 ms apart): the abandoned wait must end at its next poll, not run the function at 800 ms.
        var waiterBackend = NewBackend(new RedisCacheOptions { LockTimeout = TimeSpan.FromSeconds(2), LockWaitTimeout = TimeSpan.FromMilliseconds(800), TimeProvider = time });
        var waiter = Cachify.Wrap((int x) => { Interlocked.Increment(ref executions); return Task.FromResult(x); })
            .Named("abandoned.wait").NoSelf().Timeout(TimeSpan.FromMilliseconds(200)).Backend(waiterBackend);

        var held = owner.Invoke(1);
        await holding.Task.Within("the other process holds the lock");
        var waiting = waiter.Invoke(1);
        Bounded.Until(() => waiterBackend.Context.Waiters.Count == 1, "the caller waits for the other process");
        time.Advance(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAsync<TimeoutException>(() => waiting.Within("the waiting caller timed out"));

        // Without a caller, the wait ends at its next wake-up instead of running the function at LockWaitTimeout
        // (which would run it before the wait's registration is removed).
        Bounded.Until(() => waiterBackend.Context.Waiters.Count == 0, "the abandoned wait ended");
        Assert.Equal(1, executions);
        hang.SetResult(1);
        Assert.Equal(1, await held.Within("the owner returned"));
    }

    [RedisFact]
    public async Task Timeout_NeverDieRefreshHangs_AbandonedLikeAFailedRefreshAndItsLateResultDropped()
    {
        // The scheduler, the hard timeout and the entry's age (the writer's clock) run on the fake clock; Redis expires
        // the entry in real time, after 11 x TTL, far beyond the test.
        var time = new FakeTimeProvider();
        var logs = new ListLoggerFactory();
        var backend = NewBackend(new RedisCacheOptions { TimeProvider = time, LoggerFactory = logs });
        var ttl = TimeSpan.FromSeconds(3);
        var refreshing = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        var hang = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        Task<int> Body(int x, CancellationToken token)
        {
            if (Interlocked.Increment(ref executions) == 1)
            {
                return Task.FromResult(1);
            }

            refreshing.TrySetResult(token);
            return hang.Task;
        }

        using var refreshes = new RefreshCounter("nd.refresh.hangs");
        var f = Cachify.Wrap<int, CancellationToken, int>(Body).Named("nd.refresh.hangs").NoSelf()
            .Ttl(ttl).NeverDie().Timeout(TimeSpan.FromSeconds(5)).Backend(backend);
        Assert.Equal(1, await f.Invoke(1, CancellationToken.None));
        var valueKey = RedisCacheStore.ValueKey(Keyspace(f.CurrentBinding).ValueKey(new ArgsKey<int, CancellationToken>(1, CancellationToken.None))).ToString();

        time.Advance(ttl);
        var token = await refreshing.Task.WaitAsync(Bounded.Deadline);
        Assert.True(Db.KeyExists(LockKey(valueKey)), "the refresh holds the lock");
        time.Advance(TimeSpan.FromSeconds(5)); // the refresh's hard timeout

        // Abandoned at once, as a call is: its token cancelled, its lock released (not renewed while the function
        // hangs), counted and logged as a failed refresh, and the last good value kept.
        Bounded.Until(() => !Db.KeyExists(LockKey(valueKey)), "the abandoned refresh released its lock", TimeSpan.FromSeconds(10));
        Assert.True(token.IsCancellationRequested, "the refresh's token was cancelled");

        // The failure is counted, then logged, on the thread that completed the refresh (the lock's release does not
        // wait for it).
        Bounded.Until(() => refreshes.Failures == 1, "the abandoned refresh counted as a failed refresh");
        Bounded.Until(() => logs.Entries.Any(e => e.EventId == 1001 && e.Error is TimeoutException), "the failed refresh was logged");
        Assert.Equal(1, await f.Invoke(1, CancellationToken.None));

        // The function ends late: its result is neither stored nor counted as a refresh.
        hang.SetResult(99);
        await ((ICacheBackend)backend).Services.WhenIdle().WaitAsync(Bounded.Deadline);
        Assert.Equal(1, await f.Invoke(1, CancellationToken.None));
        Assert.Equal(0, refreshes.Successes);
        Assert.Equal(1, refreshes.Failures);
        Assert.Equal(2, executions);
    }

    [RedisFact]
    public async Task Timeout_NeverDieSyncRefreshHangs_QueuedSkipCacheCallerRunsAfterTheTimeout()
    {
        var time = new FakeTimeProvider();
        var backend = NewBackend(new RedisCacheOptions { TimeProvider = time });
        var ttl = TimeSpan.FromMilliseconds(300);
        using var refreshing = new ManualResetEventSlim();
        using var hang = new ManualResetEventSlim();
        var executions = 0;
        var f = Cachify.Wrap((int x) =>
        {
            var n = Interlocked.Increment(ref executions);
            if (n == 2)
            {
                refreshing.Set();
                hang.Wait();
            }

            return n;
        }).Named("nd.refresh.hangs.sync").NoSelf().Ttl(ttl).NeverDie().Timeout(TimeSpan.FromSeconds(5)).Backend(backend);
        try
        {
            Assert.Equal(1, f.Invoke(1));
            var valueKey = ValueKey(f, 1);
            Bounded.Until(() => Db.KeyTimeToLive(valueKey) is { } left && left <= 10 * ttl, "the entry reached its TTL by Redis' clock");
            time.Advance(ttl);
            Assert.True(refreshing.Wait(Bounded.Deadline), "the refresh started");

            // A skip-cache call queues behind the running refresh (never runs concurrently with it)...
            var skip = Task.Run(() => f.Invoke(1, skipCache: true));
            var locks = Keyspace(f.CurrentBinding).Locks;
            Bounded.Until(() => locks.Users(new ArgsKey<int>(1)) == 2, "the skip-cache call waits for the refresh");
            Assert.False(skip.IsCompleted);

            // ...and the refresh's hard timeout releases it, as it releases callers of a hung call.
            time.Advance(TimeSpan.FromSeconds(5));
            // Bounded: without the refresh's timeout, the call would wait for the hung refresh forever.
            Assert.Equal(3, await skip.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(3, f.Invoke(1));
        }
        finally
        {
            hang.Set();
        }
    }

    [RedisFact]
    public async Task SoftTimeout_OnRedis_HasNoStaleValueSoTheCallerWaitsForTheExecution()
    {
        // Redis keeps no stale copy past the TTL (it expires the key), so a soft timeout there serves nothing early.
        var time = new FakeTimeProvider();
        var backend = NewBackend(new RedisCacheOptions { TimeProvider = time, LocalCache = new() { Enabled = false } }); // Redis' expiry, not a local copy's
        var slow = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var f = Cachify.Wrap((int x) => Interlocked.Increment(ref executions) == 1 ? Task.FromResult("v1") : slow.Task)
            .Named("soft").NoSelf().Ttl(TimeSpan.FromMilliseconds(200)).SoftTimeout(TimeSpan.FromSeconds(1), maxStale: TimeSpan.FromMinutes(1)).Backend(backend);
        Assert.Equal("v1", await f.Invoke(1));
        Bounded.Until(() => !Db.KeyExists(ValueKey(f, 1)), "Redis expired the entry");

        var call = f.Invoke(1);
        Bounded.Until(() => Volatile.Read(ref executions) == 2, "the execution started");
        time.Advance(TimeSpan.FromSeconds(2)); // past the soft timeout: no stale value to serve
        slow.SetResult("v2");
        Assert.Equal("v2", await call.Within("the call got the result"));        // the caller waited for the execution
    }

    [RedisFact]
    public async Task Invoke_ThrowsAfterEveryCallerCancelled_LockReleasedNothingStoredNextCallRuns()
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

                throw new InvalidOperationException("failed after cancellation");
            }

            return x;
        }).Named("cancel.throw").NoSelf().Backend(Backend);
        using var cts = new CancellationTokenSource();

        var call = f.Invoke(5, cts.Token);
        await entered.Task.Within("the function runs");
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.Within("the cancelled caller returned"));

        Bounded.Until(() => EntryKeys().Count == 0, "the lock is released and nothing is stored");
        Assert.Equal(5, await f.Invoke(5, CancellationToken.None));
        Assert.Equal(2, executions);
        Assert.DoesNotContain(EntryKeys(), k => k.EndsWith(":lock", StringComparison.Ordinal));
        Assert.Single(EntryKeys()); // the value of the second call
    }

    /// <summary>The value and lock keys of this test's prefix: every key but the functions' generations (written before a first run).</summary>
    private List<string> EntryKeys() => [.. Keys().Where(k => !k.StartsWith("{" + Prefix + ":g:", StringComparison.Ordinal))];
}
