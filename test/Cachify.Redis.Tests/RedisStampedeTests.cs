using CachifyNet.Internal;
using CachifyNet.Redis.Internal;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The distributed lock: one execution per key across callers and "processes" (backends on separate connections),
/// renewal, wait limits, owner-only release, and invalidation of running executions.
/// </summary>
public class RedisStampedeTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public async Task Invoke_TwoProcessesFiftyCallersEach_RunsOnceInTotal_OwnerNotifiesTheWaiter()
    {
        var notices = new List<(byte Kind, string Text)>();
        var subscriber = Fixture.Connection.GetSubscriber();
        var channel = StackExchange.Redis.RedisChannel.Literal(Prefix + ":backplane").WithKeyRouting();
        await subscriber.SubscribeAsync(channel, (_, message) =>
        {
            if (HubNotice(message) is { } notice)
            {
                lock (notices) { notices.Add(notice); }
            }
        });
        var executions = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = NewBackend();
        var b = NewBackend(connection: NewConnection());
        Subscribed(a);
        Subscribed(b);
        async Task<string> Body(int x, string who)
        {
            Interlocked.Increment(ref executions);
            await release.Task;
            return who;
        }

        var fa = Cachify.Wrap((int x) => Body(x, "a")).Named("two").NoSelf().Backend(a);
        var fb = Cachify.Wrap((int x) => Body(x, "b")).Named("two").NoSelf().Backend(b);

        var tasks = Enumerable.Range(0, 50).SelectMany(_ => new[] { fa.Invoke(1), fb.Invoke(1) }).ToArray();
        Bounded.Until(() => Volatile.Read(ref executions) == 1 && a.Context.Waiters.Count + b.Context.Waiters.Count == 1, "one process runs, the other waits");
        release.SetResult();

        var results = await Task.WhenAll(tasks).Within("every caller of both processes got the value");
        Assert.Single(results.Distinct());
        Assert.Equal(1, executions);
        Assert.Equal(0, a.Context.Waiters.Count + b.Context.Waiters.Count);

        // The owner committed and published one backplane notice naming the entry (its store key text), which wakes the
        // other process's waiting caller (Notification_WakesTheWaitersOfThatKeyOnly). Whether this waiter woke by it or
        // by its poll just before it arrived is a race, so it is not asserted here.
        var storeKey = Keyspace(fa.EnsureBound()).ValueKey(new ArgsKey<int>(1));
        Bounded.Until(() => { lock (notices) { return notices.Count >= 1; } }, "the owner's notification arrived");
        lock (notices)
        {
            Assert.Equal([(KeyChangedNotice, storeKey)], notices);
        }

        await subscriber.UnsubscribeAsync(channel);
    }

    /// <summary>The kind of a backplane notice that names a changed entry (LocalHub's format).</summary>
    private const byte KeyChangedNotice = 1;

    /// <summary>
    /// Reads a backplane message as LocalHub's notice: frame kind 1 (a notice, not a heartbeat), then version (1),
    /// sender (16 bytes), kind, and the key text in UTF-8; null for a heartbeat.
    /// </summary>
    private static (byte Kind, string Text)? HubNotice(StackExchange.Redis.RedisValue message)
    {
        byte[] frame = message!;
        if (frame.Length < 19 || frame[0] != 1)
        {
            return null;
        }

        Assert.Equal(1, frame[1]);
        return (frame[18], System.Text.Encoding.UTF8.GetString(frame, 19, frame.Length - 19));
    }

    [RedisFact]
    public async Task Lock_OwnerFailsWhileAnotherProcessWaits_TheWaiterTakesOverAndLogsIt()
    {
        var logs = new ListLoggerFactory();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = NewBackend();
        var b = NewBackend(new RedisCacheOptions { LoggerFactory = logs }, connection: NewConnection());
        var fa = Cachify.Wrap(async (int x) => { entered.SetResult(); await release.Task; return x > 0 ? throw new InvalidOperationException("owner failed") : x; }).Named("takeover").NoSelf().Backend(a);
        var fb = Cachify.Wrap((int x) => Task.FromResult(-x)).Named("takeover").NoSelf().Backend(b);

        var owner = fa.Invoke(1);
        await entered.Task.Within("the owner runs the function");
        var waiter = fb.Invoke(1);
        Bounded.Until(() => b.Context.Waiters.Count == 1, "the other process waits");
        release.SetResult();

        await Assert.ThrowsAsync<InvalidOperationException>(() => owner.Within("the owner failed"));
        Assert.Equal(-1, await waiter.Within("the waiter took over")); // it took over and ran its own function
        Assert.Contains(logs.Entries, e => e.EventId == 3009 && e.Message.Contains("takeover", StringComparison.Ordinal));
    }

    [RedisFact]
    public void Notification_WakesTheWaitersOfThatKeyOnly()
    {
        var backend = NewBackend(connection: NewConnection());
        var sender = NewBackend(connection: NewConnection());
        Subscribed(backend);
        Subscribed(sender);
        var wantedKey = Prefix + ":v:n:1";
        using var wanted = backend.Context.Waiters.Add(wantedKey, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        using var other = backend.Context.Waiters.Add(Prefix + ":v:n:2", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

        // Another process's notice that the entry changed (as its owner publishes after storing or releasing).
        sender.Context.Local!.Publish(wantedKey, cleared: false, async: false);

        Bounded.Until(() => backend.Context.Waiters.Notified == 1, "the notification reached the waiter");
        Assert.True(wanted.TryTake());
        Assert.False(other.TryTake());
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public async Task Lock_FunctionSlowerThanLockTimeout_KeepsItsLock()
    {
        var options = new RedisCacheOptions { LockTimeout = TimeSpan.FromMilliseconds(300), LockWaitTimeout = TimeSpan.FromSeconds(30) };
        var a = NewBackend(options);
        var b = NewBackend(options, NewConnection());
        var executions = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fa = Cachify.Wrap(async (int x) => { Interlocked.Increment(ref executions); await release.Task; return "a"; }).Named("slow").NoSelf().Backend(a);
        var fb = Cachify.Wrap(async (int x) => { Interlocked.Increment(ref executions); await release.Task; return "b"; }).Named("slow").NoSelf().Backend(b);

        var first = fa.Invoke(1);
        Bounded.Until(() => Volatile.Read(ref executions) == 1, "a runs");
        var second = fb.Invoke(1);

        // Four renewals at LockTimeout/3 each: the function has run for longer than the lock timeout.
        Bounded.Until(() => a.Context.Renewals >= 4 && b.Context.Waiters.Count == 1, "a renewed its lock past the timeout while b waits");
        Assert.Equal(1, Volatile.Read(ref executions));
        Assert.False(second.IsCompleted);

        release.SetResult();
        Assert.Equal("a", await first.Within("a returned"));
        Assert.Equal("a", await second.Within("b got a's value"));
        Assert.Equal(1, executions);
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public async Task Lock_WaitLongerThanLockWaitTimeout_Silent_RunsTheFunctionWithoutStoring()
    {
        var a = NewBackend();
        var b = NewBackend(new RedisCacheOptions { LockWaitTimeout = TimeSpan.FromMilliseconds(200) }, NewConnection());
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fa = Cachify.Wrap(async (int x) => { await release.Task; return "a"; }).Named("wait-limit").NoSelf().Backend(a);
        var fb = Cachify.Wrap((int x) => Task.FromResult("b")).Named("wait-limit").NoSelf().Backend(b);

        var first = fa.Invoke(1);
        Bounded.Until(() => Db.KeyExists(LockKey(ValueKey(fa, 1))), "a holds the lock");

        Assert.Equal("b", await fb.Invoke(1).Within("b gave up waiting")); // gave up waiting, ran itself
        Assert.False(Db.KeyExists(ValueKey(fa, 1))); // and did not store: the lock is a's

        release.SetResult();
        Assert.Equal("a", await first.Within("a returned"));
        Assert.Equal("a", await fb.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [RedisFact]
    public void Lock_WaitLongerThanLockWaitTimeout_Throw_ThrowsCachifyException()
    {
        var a = NewBackend();
        var b = NewBackend(new RedisCacheOptions { LockWaitTimeout = TimeSpan.FromMilliseconds(200), OnError = RedisErrorMode.Throw }, NewConnection());
        using var release = new ManualResetEventSlim();
        var fa = Cachify.Wrap((int x) => { release.Wait(); return "a"; }).Named("wait-throw").NoSelf().Backend(a);
        var fb = Cachify.Wrap((int x) => "b").Named("wait-throw").NoSelf().Backend(b);

        var first = Task.Run(() => fa.Invoke(1));
        try
        {
            Bounded.Until(() => Db.KeyExists(LockKey(ValueKey(fa, 1))), "a holds the lock");

            var error = Assert.Throws<CachifyException>(() => fb.Invoke(1));
            Assert.IsType<TimeoutException>(error.InnerException);
            Assert.Contains("LockWaitTimeout", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            release.Set();
        }

        Assert.Equal("a", Bounded.Result(first, "a returned"));
        Assert.Equal("a", fb.Invoke(1));
    }

    [Trait("Category", "Reliability")]
    [RedisTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Clear_OwnerInAnotherProcessFinishesAfterIt_ItsValueIsNeverServed(bool async)
    {
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var owner = Cachify.Wrap(async (int x) =>
        {
            holding.TrySetResult();
            await release.Task;
            return 1;
        }).Named("clear.race").NoSelf().Backend(NewBackend(connection: NewConnection()));
        var f = Cachify.Wrap((int x) => Task.FromResult(2)).Named("clear.race").NoSelf().Backend(Backend);
        Assert.Equal(2, await f.Invoke(2)); // another entry, which the Clear removes too

        // The other process holds the lock of key 1 when the Clear runs, and stores its value after it: under the
        // generation it read before the Clear, which the Clear replaced.
        var owned = owner.Invoke(1);
        await holding.Task;
        Assert.True(Db.KeyExists(LockKey(ValueKey(f, 1))));
        if (async)
        {
            await f.ClearAsync();
        }
        else
        {
            f.Clear();
        }

        Assert.DoesNotContain(Keys(), k => k == ValueKey(f, 2)); // the Clear removed the old entries
        release.SetResult();
        Assert.Equal(1, await owned);       // its callers got its result...
        Assert.Equal(2, await f.Invoke(1)); // ...but it is never served after the Clear
    }

    [RedisFact]
    public async Task Lock_TakenOverByAnotherOwner_IsNeitherReleasedNorOverwrittenByUs()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var f = Cachify.Wrap(async (int x) => { await release.Task; return x; }).Named("owner-only").NoSelf().Backend(Backend);

        var first = f.Invoke(1);
        var lockKey = LockKey(ValueKey(f, 1));
        Bounded.Until(() => Db.KeyExists(lockKey), "the lock is held");

        // As if our lock had expired and another process had taken it.
        Db.StringSet(lockKey, "intruder");
        release.SetResult();

        Assert.Equal(1, await first.Within("the call returned"));
        Assert.Equal("intruder", (string?)Db.StringGet(lockKey));
        Assert.False(Db.KeyExists(ValueKey(f, 1)));
    }

    [RedisFact]
    public async Task Dispose_WhileWaitingForAnotherProcess_TheWaiterStops()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var b = NewBackend(new RedisCacheOptions { LockWaitTimeout = TimeSpan.FromMinutes(5) }, NewConnection());
        var fa = Cachify.Wrap(async (int x) => { await release.Task; return "a"; }).Named("dispose-wait").NoSelf().Backend(Backend);
        var fb = Cachify.Wrap((int x) => Task.FromResult("b")).Named("dispose-wait").NoSelf().Backend(b);

        var first = fa.Invoke(1);
        Bounded.Until(() => Db.KeyExists(LockKey(ValueKey(fa, 1))), "a holds the lock");
        var second = fb.Invoke(1);
        Bounded.Until(() => b.Context.Waiters.Count == 1, "b waits");

        b.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => second.WaitAsync(TimeSpan.FromSeconds(10)));

        release.SetResult();
        Assert.Equal("a", await first.Within("a returned"));
    }
}
