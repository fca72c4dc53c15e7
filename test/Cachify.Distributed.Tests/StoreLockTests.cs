using CachifyNet.Stores;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// How the store backend uses a store's lock across processes (<see cref="CacheStore.Lock"/>) when things go wrong: a
/// dead owner, an owner that holds on, throws, is slower than its lease or is abandoned at its timeout. Two backends over
/// two clients of one <see cref="LockingDictionaryStore"/> stand for two processes. (What a lock guarantees when all goes
/// well, one execution in total and Invalidate reaching a running execution, is in the conformance suite.) Lock leases
/// run in real time, as stores expire locks in real time: the waits here are bounded, never slept.
/// </summary>
public sealed class StoreLockTests : IDisposable
{
    private readonly LockingDictionaryStore.Shared _shared = new();
    private readonly InProcessBackplane _backplane = new();
    private readonly List<IDisposable> _owned = [];
    private readonly string _prefix = "k" + Guid.NewGuid().ToString("N")[..12];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invoke_TheLockOfADeadProcess_IsTakenOverWhenItsLeaseEnds_AndTheValueStored(bool async)
    {
        var dead = Process(lease: TimeSpan.FromMilliseconds(300));
        var hung = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deadCall = Wrap(async, dead, _ => hung.Task)(1);
        Bounded.Until(() => _shared.Acquired == 1, "the first process took the lock");
        dead.Dispose();                              // it stops renewing: its lock expires by itself

        var logs = new FakeLogCollector();
        var alive = Process(lease: TimeSpan.FromMilliseconds(300), logs: logs);
        Assert.Equal("taken over", await Wrap(async, alive, _ => Task.FromResult("taken over"))(1).Within("the second process took over"));

        var third = Process();
        Assert.Equal("taken over", await Wrap(async, third, _ => Task.FromResult("not stored"))(1));
        Assert.Contains(logs.GetSnapshot(), r => r.Id.Id == 3009);  // LockTakenOver
        hung.SetResult("late");
        Assert.Equal("late", await deadCall.Within("the first process's call returned its function's result")); // to its caller...
        Assert.Equal("taken over", await Wrap(async, third, _ => Task.FromResult("not stored"))(1)); // ...without storing it
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invoke_LockHeldPastLockWaitTimeout_Silent_RunsWithoutStoring(bool async)
    {
        var (owner, release, owning) = HoldTheLock(async);

        var waiter = Process(waitTimeout: TimeSpan.FromMilliseconds(200));
        var runs = 0;
        var call = Wrap(async, waiter, _ => Task.FromResult("own" + Interlocked.Increment(ref runs)));
        Assert.Equal("own1", await call(1).Within("the wait timed out"));
        Assert.Equal("own2", await call(1).Within("the wait timed out again")); // the first result was not stored

        release.SetResult("owner");
        Assert.Equal("owner", await owning.Within("the owner stored"));
        Assert.Equal("owner", await call(1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invoke_LockHeldPastLockWaitTimeout_Throw_ThrowsNamingTheTimeout(bool async)
    {
        var (owner, release, owning) = HoldTheLock(async);

        var waiter = Process(waitTimeout: TimeSpan.FromMilliseconds(200), onError: CacheStoreErrorMode.Throw);
        var error = await Assert.ThrowsAsync<CachifyException>(() => Wrap(async, waiter, _ => Task.FromResult("never"))(1)).Within("the wait timed out");
        Assert.Contains("LockWaitTimeout", error.Message, StringComparison.Ordinal);
        Assert.IsType<TimeoutException>(error.InnerException);

        release.SetResult("owner");
        await owning.Within("the owner stored");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task Invoke_TheOwnerThrows_ItsLockGoesAtOnce_AndTheWaitingProcessIsWokenByTheNotice(bool async, bool localCopies = true)
    {
        var lease = TimeSpan.FromDays(1);                    // only a release lets the waiter go
        var owner = Process(lease: lease, localCopies: localCopies); // without copies, the backplane still carries the notice
        var fail = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var owning = Wrap(async, owner, _ => fail.Task)(1);
        Bounded.Until(() => _shared.Acquired == 1, "the first process took the lock");

        var waiter = Process(lease: lease);
        var waiting = Wrap(async, waiter, _ => Task.FromResult("second"))(1);
        Bounded.Until(() => waiter.Context.Waiters.Count == 1, "the second process waits for the lock");

        fail.SetException(new InvalidOperationException("boom"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => owning).Within("the owner failed");
        Assert.Equal("second", await waiting.Within("the waiting process ran once the lock was released"));
        Assert.True(waiter.Context.Waiters.Notified > 0, "the release's notice reached the waiting process");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invoke_SlowerThanTheLease_TheOwnerRenewsItsLock_AndNobodyTakesOver(bool async)
    {
        var lease = TimeSpan.FromSeconds(1);
        var (owner, release, owning) = HoldTheLock(async, lease: lease);

        var waiter = Process(lease: lease);
        var runs = 0;
        var waiting = Wrap(async, waiter, _ => Task.FromResult("second" + Interlocked.Increment(ref runs)))(1);
        Bounded.Until(() => Volatile.Read(ref _shared.Renewed) >= 4, "the owner renewed its lock past its lease");

        Assert.Equal(0, Volatile.Read(ref runs));            // the lock never expired: nobody took over
        release.SetResult("owner");
        Assert.Equal("owner", await owning.Within("the owner stored"));
        Assert.Equal("owner", await waiting.Within("the waiting process read the owner's value"));
        Assert.Equal(0, runs);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Invoke_AbandonedAtItsTimeout_ItsLockIsReleased(bool async)
    {
        var lease = TimeSpan.FromDays(1);
        var owner = Process(lease: lease);
        var hung = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var abandoned = Wrap(async, owner, _ => hung.Task, timeout: TimeSpan.FromMilliseconds(200))(1);
        await Assert.ThrowsAsync<TimeoutException>(() => abandoned).Within("the call timed out");

        var other = Process(lease: lease);
        Assert.Equal("other", await Wrap(async, other, _ => Task.FromResult("other"))(1).Within("the lock was released"));
        hung.SetResult("late");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Clear_RemovesTheOldEntriesWhereTheStoreCanEnumerateItsKeys_AndItsFailureOnlyLeavesThemToExpire(bool async)
    {
        var backend = Process();
        var runs = 0;
        var call = Wrap(async, backend, x => Task.FromResult("v" + Interlocked.Increment(ref runs)));
        var sync = Cachify.Wrap((int x) => "unused").Named("lock").NoSelf().Backend(backend);
        var asyncForm = Cachify.Wrap((int x) => Task.FromResult("unused")).Named("lock").NoSelf().Backend(backend);
        await call(1);
        await call(2);
        Assert.Equal(3, _shared.Values.Count);               // two values and the generation

        if (async)
        {
            await asyncForm.ClearAsync();
        }
        else
        {
            sync.Clear();
        }

        Assert.Single(_shared.Values);                       // the generation only
        await call(1);
        _shared.FailRemoveByPrefix = true;
        if (async)
        {
            await asyncForm.ClearAsync();                            // does not throw: the new generation already hides the old entries
        }
        else
        {
            sync.Clear();
        }

        Assert.Equal("v4", await call(1));                   // not v3
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NeverDie_RefreshFails_TheLastGoodValueIsKeptLongerUnderTheLock(bool async)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ttl = TimeSpan.FromMinutes(1);
        var backend = Process(time: time);
        var fail = false;
        var runs = 0;
        var call = Wrap(async, backend, _ => fail ? throw new InvalidOperationException("down") : Task.FromResult("v" + Interlocked.Increment(ref runs)), neverDie: ttl);
        Assert.Equal("v1", await call(1));
        var (bytes, expires) = Assert.Single(_shared.Values, e => e.Key.Contains(":v:", StringComparison.Ordinal)).Value;
        Assert.InRange(expires - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(11)); // 11 × TTL

        fail = true;
        time.Advance(ttl);
        await ((ICacheBackend)backend).Services.WhenIdle().Within("the refresh failed");

        var (kept, extended) = Assert.Single(_shared.Values, e => e.Key.Contains(":v:", StringComparison.Ordinal)).Value;
        Assert.Equal(bytes, kept);                          // the last good value, as it was written...
        Assert.True(extended - expires >= TimeSpan.FromMinutes(1), $"...lives on to the next attempt plus 11 × TTL (extended by {extended - expires})");
        Assert.Empty(_shared.Locks);                        // and the lock went with the commit
        Assert.Equal("v1", await call(1));
    }

    [Fact]
    public void Options_OutOfRange_AreRefusedNamingTheOption()
    {
        var lease = Assert.Throws<ArgumentOutOfRangeException>(() => new CacheStoreBackend(new LockingDictionaryStore(_shared), new CacheStoreBackendOptions { LockTimeout = TimeSpan.FromMilliseconds(50) }));
        Assert.Contains("LockTimeout", lease.Message, StringComparison.Ordinal);
        var wait = Assert.Throws<ArgumentOutOfRangeException>(() => new CacheStoreBackend(new LockingDictionaryStore(_shared), new CacheStoreBackendOptions { LockWaitTimeout = TimeSpan.Zero }));
        Assert.Contains("LockWaitTimeout", wait.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        foreach (var owned in _owned)
        {
            owned.Dispose();
        }
    }

    /// <summary>A first process whose call holds the key's lock until <c>Release</c> completes (with its result or exception).</summary>
    private (CacheStoreBackend Process, TaskCompletionSource<string> Release, Task<string> Call) HoldTheLock(bool async, TimeSpan? lease = null, bool localCopies = true)
    {
        var process = Process(lease: lease, localCopies: localCopies);
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var call = Wrap(async, process, _ => release.Task)(1);
        Bounded.Until(() => _shared.Acquired == 1, "the first process took the lock");
        return (process, release, call);
    }

    /// <summary>A backend of one process, over its own client of the shared store, on the shared backplane.</summary>
    private CacheStoreBackend Process(TimeSpan? lease = null, TimeSpan? waitTimeout = null, CacheStoreErrorMode onError = CacheStoreErrorMode.Silent, FakeLogCollector? logs = null, bool localCopies = true, TimeProvider? time = null)
    {
        var backend = new CacheStoreBackend(new LockingDictionaryStore(_shared), new CacheStoreBackendOptions
        {
            KeyPrefix = _prefix,
            LockTimeout = lease ?? TimeSpan.FromSeconds(10),
            TimeProvider = time,
            LockWaitTimeout = waitTimeout,
            OnError = onError,
            Backplane = _backplane,
            LocalCache = new LocalCacheOptions { Enabled = localCopies },
            LoggerFactory = logs is null ? null : LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs))),
        });
        _owned.Add(backend);
        return backend;
    }

    /// <summary>Starts a call of the function; the synchronous form on its own thread (it may block on the lock).</summary>
    private static Func<int, Task<string>> Wrap(bool async, CacheStoreBackend backend, Func<int, Task<string>> body, TimeSpan? timeout = null, TimeSpan? neverDie = null)
    {
        if (async)
        {
            var f = Cachify.Wrap((int x) => body(x)).Named("lock").NoSelf().Backend(backend);
            f = timeout is { } t ? f.Timeout(t) : f;
            f = neverDie is { } n ? f.Ttl(n).NeverDie() : f;
            return x => f.Invoke(x);
        }

        var g = Cachify.Wrap((int x) => body(x).GetAwaiter().GetResult()).Named("lock").NoSelf().Backend(backend);
        g = timeout is { } u ? g.Timeout(u) : g;
        g = neverDie is { } m ? g.Ttl(m).NeverDie() : g;
        return x => Task.Factory.StartNew(() => g.Invoke(x), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}
