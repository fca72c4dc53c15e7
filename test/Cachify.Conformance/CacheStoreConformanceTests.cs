using CachifyNet.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace CachifyNet.Conformance;

/// <summary>
/// The behaviour every Cachify store owes its callers, proved through the public wrapper API
/// (<c>Cachify.Wrap(...).Backend(backend).Invoke</c>): hits and misses, TTL, skip-cache, Invalidate and Clear, never-die,
/// exceptions, null results, stampedes in one process and across processes, and faults of the store.
/// A store runs it with one small subclass that says how to make its backend and which optional capabilities it has
/// (see README.md beside this file).
/// </summary>
/// <remarks>
/// Each test gets a new instance, so a new fake clock (<see cref="Time"/>) and new backends; a subclass gives every
/// test its own storage (or its own key prefix in a shared one). Tests never sleep: time moves with
/// <see cref="Advance"/>, threads meet on TaskCompletionSource gates, and every wait has a deadline
/// (<see cref="Bounded"/>). What a store lacks is skipped with the reason the subclass gives.
/// </remarks>
public abstract partial class CacheStoreConformanceTests : IDisposable
{
    /// <summary>The fake clock's start.</summary>
    protected static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<IDisposable> _owned = [];
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private ICacheBackend? _backend;

    /// <summary>Starts a test: a fake clock at <see cref="Epoch"/>; backends are made on first use.</summary>
    protected CacheStoreConformanceTests() => Time = new FakeTimeProvider(Epoch);

    /// <summary>The test's clock, given to every backend the test makes.</summary>
    protected FakeTimeProvider Time { get; }

    /// <summary>The test's backend (this process's), made on first use and disposed with the test.</summary>
    protected ICacheBackend Backend => _backend ??= OwnBackend(CreateBackend(Time));

    // ---------------------------------------------------------------------------------------------------------------
    // What a store says about itself: one abstract member, the rest optional.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>
    /// Makes a backend over the test's storage (a new store per test, or a key prefix of the test's own), using
    /// <paramref name="time"/> wherever the store takes a clock. Disposed with the test.
    /// </summary>
    protected abstract ICacheBackend CreateBackend(TimeProvider time);

    /// <summary>Why the whole suite cannot run here (such as the store's server not being installed); null when it can.</summary>
    protected virtual string? SkipReason => null;

    /// <summary>
    /// Whether the fake clock alone ages the stored entries (true for a store that reads the clock it is given).
    /// A store whose entries age by its own clock (Redis expires keys by its server's time) returns false and
    /// overrides <see cref="AgeStoredEntries"/>.
    /// </summary>
    protected virtual bool ClockDrivesExpiry => true;

    /// <summary>
    /// Makes every entry the test stored older by <paramref name="by"/>, as the store itself measures age (expiry
    /// included: an entry older than its lifetime is gone). Called by <see cref="Advance"/> before the fake clock moves,
    /// when <see cref="ClockDrivesExpiry"/> is false.
    /// </summary>
    protected virtual void AgeStoredEntries(TimeSpan by)
        => throw new NotSupportedException($"{GetType().Name} says its entries age by the store's own clock (ClockDrivesExpiry is false): override AgeStoredEntries to age them.");

    /// <summary>
    /// Makes a backend that stands for another process: same storage (and key prefix) as <see cref="CreateBackend"/>,
    /// nothing else shared (its own connection, its own in-process state). Null (the default) when the store is not
    /// shared between processes: the cross-process tests are skipped.
    /// </summary>
    protected virtual ICacheBackend? CreateBackendOfAnotherProcess(TimeProvider time) => null;

    /// <summary>Whether the store locks an entry across processes while one of them runs the function (one execution in total).</summary>
    protected virtual bool HasCrossProcessLock => false;

    /// <summary>
    /// Whether callers of <paramref name="backend"/> wait for a lock another process holds, if the fixture can tell (a
    /// test then waits for that before it lets the owner finish, so the wait is proved); null when it cannot.
    /// </summary>
    protected virtual bool? IsWaitingForAnotherProcess(ICacheBackend backend) => null;

    /// <summary>
    /// Completes once the background work <paramref name="backend"/> started so far (never-die refreshes, including
    /// their failure handling) has ended; null (the default) when the fixture cannot tell: the tests that need it are skipped.
    /// </summary>
    protected virtual Task? BackgroundWorkDone(ICacheBackend backend) => null;

    /// <summary>
    /// Makes a backend over a store the test can break and repair, with <paramref name="errors"/> as its error mode, and
    /// with its local level (copies in process memory) on or off (<paramref name="localLevel"/>; the store's own path is
    /// tested with it off); null (the default) when the fixture cannot inject faults, or has no local level and one is
    /// asked for: the fault tests are skipped with <see cref="FaultSkipReason"/>.
    /// </summary>
    protected virtual StoreFault? CreateFaultyStore(StoreErrors errors, bool localLevel) => null;

    /// <summary>Why the fault tests are skipped when <see cref="CreateFaultyStore"/> gives nothing.</summary>
    protected virtual string FaultSkipReason => "The fixture injects no faults of its store (it does not override CreateFaultyStore).";

    // ---------------------------------------------------------------------------------------------------------------
    // Helpers for the tests.
    // ---------------------------------------------------------------------------------------------------------------

    /// <summary>Moves time on by <paramref name="by"/>: ages the stored entries where the store keeps its own time, then moves the fake clock (firing its due timers).</summary>
    protected void Advance(TimeSpan by)
    {
        if (!ClockDrivesExpiry)
        {
            AgeStoredEntries(by);
        }

        Time.Advance(by);
    }

    /// <summary>Disposes <paramref name="owned"/> with the test (last owned, first disposed).</summary>
    protected T Own<T>(T owned)
        where T : IDisposable
    {
        _owned.Add(owned);
        return owned;
    }

    /// <summary>Disposes <paramref name="backend"/> with the test, if it is disposable.</summary>
    protected ICacheBackend OwnBackend(ICacheBackend backend)
    {
        if (backend is IDisposable disposable)
        {
            _owned.Add(disposable);
        }

        return backend;
    }

    /// <summary>
    /// Wraps <paramref name="body"/> under <paramref name="name"/> (made unique to the test, so tests and test classes
    /// running at once never share entries or telemetry), through the synchronous API or the asynchronous one; the
    /// asynchronous form yields before it runs the body, so it completes asynchronously.
    /// </summary>
    /// <summary>
    /// Calls <paramref name="call"/> for <paramref name="x"/> until it answers something other than <paramref name="old"/>,
    /// and returns that answer. A change another process made reaches this one's local level (if it has one) through a
    /// backplane, in a bounded time during which the local copy may still answer; a test of what such a change does waits
    /// for it here (without running the function meanwhile, since a copy answering does not run it). Fails after
    /// <see cref="Bounded.Deadline"/>.
    /// </summary>
    protected static async Task<T> Changed<T>(Call<T> call, T old, int x = 1)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var value = await call.Invoke(x);
            if (!EqualityComparer<T>.Default.Equals(value, old))
            {
                return value;
            }

            Assert.True(watch.Elapsed < Bounded.Deadline, $"The change of key {x} never reached this process (it still answers {old}).");
            await Task.Yield();
        }
    }

    protected Call<T> Wrap<T>(bool async, string name, Func<int, T> body, TimeSpan? ttl = null, bool neverDie = false, TimeSpan? idleTimeout = null, ICacheBackend? backend = null)
        => async
            ? Configure(Cachify.Wrap(async (int x) => { await Task.Yield(); return body(x); }), name, ttl, neverDie, idleTimeout, backend)
            : Configure(Cachify.Wrap((int x) => body(x)), name, ttl, neverDie, idleTimeout, backend);

    /// <summary>
    /// Wraps a function that waits for work (a gate a test opens): the asynchronous API awaits the task
    /// <paramref name="body"/> returns; the synchronous API blocks on it, failing after <see cref="Bounded.Deadline"/>.
    /// </summary>
    protected Call<T> WrapAwaiting<T>(bool async, string name, Func<int, Task<T>> body, TimeSpan? ttl = null, bool neverDie = false, TimeSpan? idleTimeout = null, ICacheBackend? backend = null)
        => async
            ? Configure(Cachify.Wrap((int x) => body(x)), name, ttl, neverDie, idleTimeout, backend)
            : Configure(Cachify.Wrap((int x) => Bounded.Result(body(x), "the function's work completed")), name, ttl, neverDie, idleTimeout, backend);

    /// <summary>The name a wrapper has in this test (see <see cref="Wrap{T}"/>).</summary>
    protected string Name(string name) => name + "." + _id;

    /// <summary>Skips the test when the suite cannot run here.</summary>
    protected void Need() => Skip.If(SkipReason is not null, SkipReason);

    /// <summary>Disposes what the test made.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the test's backends and what it owned, last made first.</summary>
    protected virtual void Dispose(bool disposing)
    {
        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _owned.Clear();
    }

    private ICacheBackend NewBackendOfAnotherProcess()
    {
        var other = CreateBackendOfAnotherProcess(Time);
        Skip.If(other is null, $"{GetType().Name} has no other process to share its store with (it does not override CreateBackendOfAnotherProcess).");
        return OwnBackend(other!);
    }

    private void NeedCrossProcessLock()
        => Skip.IfNot(HasCrossProcessLock, $"{GetType().Name} has no cross-process lock (HasCrossProcessLock is false): processes may each run the function.");

    private Task NeedBackgroundWorkDone(ICacheBackend backend)
    {
        var done = BackgroundWorkDone(backend);
        Skip.If(done is null, $"{GetType().Name} cannot await the store's background work (it does not override BackgroundWorkDone).");
        return done!.Within("the background refreshes ended");
    }

    private StoreFault NewFaultyStore(StoreErrors errors, bool localLevel = false)
    {
        var fault = CreateFaultyStore(errors, localLevel);
        Skip.If(fault is null, FaultSkipReason);
        return Own(fault!);
    }

    private Call<T> Configure<T>(CachedFunc<int, T> f, string name, TimeSpan? ttl, bool neverDie, TimeSpan? idleTimeout, ICacheBackend? backend)
    {
        f = f.Named(Name(name)).NoSelf();
        if (ttl is { } lifetime)
        {
            f = f.Ttl(lifetime);
        }

        if (neverDie)
        {
            f = idleTimeout is { } idle ? f.NeverDie(idle) : f.NeverDie();
        }

        return new Call<T>(f.Backend(backend ?? Backend));
    }

    private Call<T> Configure<T>(AsyncCachedFunc<int, T> f, string name, TimeSpan? ttl, bool neverDie, TimeSpan? idleTimeout, ICacheBackend? backend)
    {
        f = f.Named(Name(name)).NoSelf();
        if (ttl is { } lifetime)
        {
            f = f.Ttl(lifetime);
        }

        if (neverDie)
        {
            f = idleTimeout is { } idle ? f.NeverDie(idle) : f.NeverDie();
        }

        return new Call<T>(f.Backend(backend ?? Backend));
    }

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
