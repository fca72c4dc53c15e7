using CachifyNet.Internal;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Tests;

/// <summary>Races and teardown bugs found in review, each pinned by the interleaving that exposed it.</summary>
[Trait("Category", "Reliability")]
public class RegressionTests
{
    private static FakeTimeProvider NewClock() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Dispose_WrapperWithATarget_StopsServingAndLeavesNothingInTheAppsCache()
    {
        var time = NewClock();
        using var appCache = new MemoryCache(new MemoryCacheOptions());
        var backend = new MemoryCacheBackend(appCache, new MemoryCacheBackendOptions { TimeProvider = time });
        var calls = 0;
        var f = Cachify.Wrap((int x) => x * 10 + ++calls).Ttl(TimeSpan.FromSeconds(1)).Backend(backend); // captures: has a target
        f.Invoke(1);
        Assert.Equal(1, appCache.Count);

        backend.Dispose();
        time.Advance(TimeSpan.FromHours(1));

        Assert.Throws<ObjectDisposedException>(() => f.Invoke(1));
        Assert.Equal(0, appCache.Count);
    }

    [Fact]
    public async Task Timeout_CallerArrivingWhileTheTokenCleanupRuns_StartsAFreshExecution()
    {
        var time = NewClock();
        using var backend = new MemoryCacheBackend(new MemoryCacheBackendOptions { TimeProvider = time });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var inCleanup = new ManualResetEventSlim();
        using var finishCleanup = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap(async (int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref calls) > 1)
            {
                return x;
            }

            var hang = Task.Delay(Timeout.Infinite, token);
            token.Register(() => { inCleanup.Set(); finishCleanup.Wait(); }); // synchronous cleanup on cancellation
            started.TrySetResult();
            await hang;
            return x;
        }).Timeout(TimeSpan.FromSeconds(5)).Backend(backend);

        var first = f.Invoke(1, CancellationToken.None);
        await started.Task.Within("the function started");
        var advance = Task.Run(() => time.Advance(TimeSpan.FromSeconds(5)));
        Task<int>? second = null;
        try
        {
            Bounded.Wait(inCleanup, "the timeout ran the token's cleanup");

            // The timed-out execution is detached before its token's callbacks run: this caller starts afresh
            // (a small stack, so a join-retry recursion would overflow it).
            var thread = new Thread(() => second = f.Invoke(1, CancellationToken.None), 256 * 1024) { IsBackground = true };
            thread.Start();
            Bounded.Join(thread, "the caller arriving during the cleanup returned");
        }
        finally
        {
            finishCleanup.Set();
        }

        await advance.Within("the clock's advance (and the cleanup it ran) ended");
        await Assert.ThrowsAsync<TimeoutException>(() => first.Within("the timed-out call returned"));
        Assert.Equal(1, await second!.Within("the fresh execution returned"));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Timeout_TokenCallbackThrows_IsContainedAndTheNextCallRunsAgain()
    {
        var time = NewClock();
        using var backend = new MemoryCacheBackend(new MemoryCacheBackendOptions { TimeProvider = time });
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var hung = new ManualResetEventSlim();
        var calls = 0;
        var f = Cachify.Wrap((int x, CancellationToken token) =>
        {
            if (Interlocked.Increment(ref calls) > 1)
            {
                return x;
            }

            token.Register(() => throw new ObjectDisposedException("connection"));
            started.TrySetResult();
            hung.Wait(); // a hung dependency: the reason for the timeout
            return x;
        }).Timeout(TimeSpan.FromSeconds(5)).Backend(backend);

        var first = Task.Run(() => f.Invoke(1, CancellationToken.None));
        try
        {
            await started.Task.Within("the function started");
            time.Advance(TimeSpan.FromSeconds(5)); // the callback's exception does not escape the timer

            await Assert.ThrowsAsync<TimeoutException>(() => first.Within("the timed-out call returned"));
            Assert.Equal(1, await Task.Run(() => f.Invoke(1, CancellationToken.None)).Within("the next call ran the function again"));
            Assert.Equal(2, calls);
        }
        finally
        {
            hung.Set();
        }
    }

    [Fact]
    public void Flight_OwnerIsAParticipantFromTheStart_AJoinerLeavingDoesNotCancelIt()
    {
        var flight = new Flight<int>(sharesCancellation: true, NullLogger.Instance);

        Assert.True(flight.TryJoin());
        flight.Leave(); // the joiner gives up; the owner still waits

        Assert.False(flight.Token.IsCancellationRequested);
        flight.Leave(); // the owner gives up too: nobody waits any more
        Assert.True(flight.Token.IsCancellationRequested);
    }

    [Fact]
    public async Task Flight_TaskAskedForOnlyAfterTheOwnerCompleted_CarriesTheOutcome()
    {
        // The owner of a flight nobody joined completes it without a task; a late waiter still gets the outcome.
        var succeeded = new Flight<int>(sharesCancellation: false, NullLogger.Instance);
        Assert.True(succeeded.TrySetResult(42));
        Assert.False(succeeded.TrySetException(new InvalidOperationException("late")));
        Assert.True(succeeded.IsCompleted);
        Assert.Equal(42, succeeded.GetResult());
        Assert.Equal(42, await succeeded.Task);
        Assert.Same(succeeded.Task, succeeded.Task);

        var failed = new Flight<int>(sharesCancellation: false, NullLogger.Instance);
        var error = new InvalidOperationException("boom");
        Assert.True(failed.TrySetException(error));
        Assert.False(failed.TrySetResult(1));
        Assert.Same(error, Assert.Throws<InvalidOperationException>(() => failed.GetResult()));
        Assert.Same(error, await Assert.ThrowsAsync<InvalidOperationException>(() => failed.Task));
    }

    [Fact]
    public async Task Flight_TaskAskedForWhileTheOwnerCompletes_EveryWaiterGetsTheResult()
    {
        // A joiner makes the task while the owner completes the flight on another thread: whoever comes second
        // completes the task, so no waiter is left behind.
        for (var i = 0; i < 500; i++)
        {
            var value = i;
            var flight = new Flight<int>(sharesCancellation: false, NullLogger.Instance);
            using var start = new Barrier(2);
            var owner = Task.Run(() =>
            {
                start.SignalAndWait();
                flight.TrySetResult(value);
            });

            start.SignalAndWait();
            var waiter = flight.Task;
            await owner.Within("the owner completes");
            Assert.Equal(value, await waiter.Within("the waiter gets the result"));
        }
    }

    [Fact]
    public void Flight_DoomedWhileNoStoreRuns_RefusesStores_AStoreThatEndedFirstStands()
    {
        var doomed = new Flight<int>(sharesCancellation: false, NullLogger.Instance);
        doomed.Doom();
        Assert.True(doomed.Doomed);
        Assert.False(doomed.TryBeginStore());

        var stored = new Flight<int>(sharesCancellation: false, NullLogger.Instance);
        Assert.True(stored.TryBeginStore());
        stored.EndStore(stored: true);
        stored.Doom();
        Assert.True(stored.Doomed);
        Assert.False(stored.TryBeginStore());

        var reopened = new Flight<int>(sharesCancellation: false, NullLogger.Instance);
        Assert.True(reopened.TryBeginStore());
        reopened.EndStore(stored: false);
        Assert.True(reopened.TryBeginStore());
    }

    [Fact]
    public void Dispose_RefreshTokenCallbackThrows_TeardownStillCompletes()
    {
        var time = NewClock();
        using var appCache = new MemoryCache(new MemoryCacheOptions());
        var backend = new MemoryCacheBackend(appCache, new MemoryCacheBackendOptions { TimeProvider = time });
        var services = ((ICacheBackend)backend).Services;
        services.Stopping.Register(() => throw new InvalidOperationException("callback"));
        var f = Cachify.Wrap((int x) => x).Ttl(TimeSpan.FromSeconds(10)).NeverDie().Backend(backend);
        f.Invoke(1);

        backend.Dispose();

        Assert.Equal(0, services.Scheduler.EntryCount);
        Assert.Equal(0, appCache.Count);
    }
}
