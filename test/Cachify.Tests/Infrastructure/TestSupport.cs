using CachifyNet.Internal;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace CachifyNet.Tests;

/// <summary>A memory backend on a fake clock, with hooks to observe its internals.</summary>
internal sealed class MemoryFixture : IDisposable
{
    public MemoryFixture(long? sizeLimit = null, long entrySize = 1, TimeProvider? time = null, ILoggerFactory? loggerFactory = null)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        Cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = sizeLimit });
        Backend = new MemoryCacheBackend(Cache, new MemoryCacheBackendOptions { TimeProvider = time ?? Time, EntrySize = entrySize, LoggerFactory = loggerFactory });
    }

    public FakeTimeProvider Time { get; }

    public MemoryCache Cache { get; }

    public MemoryCacheBackend Backend { get; }

    public BackendServices Services => ((ICacheBackend)Backend).Services;

    /// <summary>Entries the scheduler holds (TTL entries and the never-die registry), without the sweep.</summary>
    public int ScheduledEntries => Services.Scheduler.EntryCount;

    /// <summary>Waits for background refreshes started so far to end.</summary>
    public Task RefreshesDone() => Services.WhenIdle().WaitAsync(TimeSpan.FromSeconds(30));

    public void Advance(TimeSpan by) => Time.Advance(by);

    public void Dispose()
    {
        Backend.Dispose();
        Cache.Dispose();
    }
}

internal static class Internals
{
    public static MemoryKeyspace<TKey, TValue> Keyspace<TKey, TValue>(Binding<TKey, TValue>? binding)
        where TKey : struct, IArgsKey<TKey>
        => (MemoryKeyspace<TKey, TValue>)(binding ?? throw new InvalidOperationException("The wrapper is not bound yet: call it once.")).Keyspace;
}

/// <summary>
/// A fake clock that counts the timers Cachify creates: one scheduler timer per backend, and a test can wait
/// until a blocked caller has armed its own.
/// </summary>
internal sealed class CountingClock : TimeProvider
{
    private int _timers;

    public FakeTimeProvider Fake { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public int TimersCreated => Volatile.Read(ref _timers);

    public override long TimestampFrequency => Fake.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => Fake.GetUtcNow();

    public override long GetTimestamp() => Fake.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = Fake.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timers);
        return timer;
    }

    /// <summary>Waits until <paramref name="total"/> timers exist (the backend's scheduler owns the first).</summary>
    public void WaitForTimers(int total) => Bounded.Until(() => TimersCreated >= total, $"{total} timers were created");
}

/// <summary>Tests that change <see cref="Cachify.DefaultTtl"/> or <see cref="Cachify.DefaultBackend"/> run alone.</summary>
[CollectionDefinition(nameof(GlobalDefaults), DisableParallelization = true)]
public sealed class GlobalDefaults;

/// <summary>
/// Stops the owner of an execution at two points of its store, to race Invalidate, Clear or Dispose against it: after
/// it checked that it may store (its first clock read once the function returned), and after the value is in the
/// front (when it adds the entry to the <see cref="IMemoryCache"/>). Only the thread that armed the pauses stops.
/// </summary>
internal sealed class StoreRace : IDisposable
{
    private readonly PausingClock _clock = new();
    private readonly PausingCache _cache = new(new MemoryCache(new MemoryCacheOptions()));

    public StoreRace() => Backend = new MemoryCacheBackend(_cache, new MemoryCacheBackendOptions { TimeProvider = _clock });

    public MemoryCacheBackend Backend { get; }

    /// <summary>The backend's clock.</summary>
    public FakeTimeProvider Time => _clock;

    /// <summary>Entries in the app's cache.</summary>
    public int CacheCount => _cache.Count;

    /// <summary>Set when the owner is stopped after its check, before it stores.</summary>
    public ManualResetEventSlim AtStore { get; } = new();

    /// <summary>Set when the owner is stopped after its value entered the front.</summary>
    public ManualResetEventSlim Inserted { get; } = new();

    private ManualResetEventSlim ResumeStore { get; } = new();

    private ManualResetEventSlim ResumeInsert { get; } = new();

    /// <summary>Called by the function on the owner's thread: stop at its store (and, if asked, after the insert).</summary>
    public void PauseOwner(bool alsoAfterInsert)
    {
        PausingClock.OnNextRead(() => Pause(AtStore, ResumeStore));
        if (alsoAfterInsert)
        {
            PausingCache.OnNextCreateEntry(() => Pause(Inserted, ResumeInsert));
        }
    }

    public void Continue() => ResumeStore.Set();

    public void ContinueAfterInsert() => ResumeInsert.Set();

    public void Dispose()
    {
        ResumeStore.Set();
        ResumeInsert.Set();
        Backend.Dispose();
        _cache.Dispose();
    }

    private static void Pause(ManualResetEventSlim reached, ManualResetEventSlim resume)
    {
        reached.Set();
        Bounded.Wait(resume, "the test resumed the owner");
    }

    private sealed class PausingClock() : FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
        [ThreadStatic]
        private static Action? _onNextRead;

        public static void OnNextRead(Action action) => _onNextRead = action;

        public override long GetTimestamp()
        {
            if (_onNextRead is { } action)
            {
                _onNextRead = null;
                action();
            }

            return base.GetTimestamp();
        }
    }

    private sealed class PausingCache(MemoryCache inner) : IMemoryCache
    {
        [ThreadStatic]
        private static Action? _onNextCreateEntry;

        public int Count => inner.Count;

        public static void OnNextCreateEntry(Action action) => _onNextCreateEntry = action;

        public ICacheEntry CreateEntry(object key)
        {
            if (_onNextCreateEntry is { } action)
            {
                _onNextCreateEntry = null;
                action();
            }

            return inner.CreateEntry(key);
        }

        public void Remove(object key) => inner.Remove(key);

        public bool TryGetValue(object key, out object? value) => inner.TryGetValue(key, out value);

        public void Dispose() => inner.Dispose();
    }
}

/// <summary>
/// A step of a race on a thread of its own, so a test can see it block (on a lock another thread holds). An exception
/// it throws is kept and rethrown by <see cref="Join"/>, rather than ending the test process.
/// </summary>
internal sealed class RaceThread
{
    private readonly Thread _thread;
    private Exception? _error;

    public RaceThread(Action action)
    {
        _thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception error)
            {
                _error = error;
            }
        })
        { IsBackground = true };
        _thread.Start();
    }

    public bool IsAlive => _thread.IsAlive;

    /// <summary>True while the thread waits (for a lock, an event or a join).</summary>
    public bool IsBlocked => _thread.IsAlive && (_thread.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0;

    /// <summary>Waits until the thread has ended or is blocked (waiting for a lock the owner holds).</summary>
    public void UntilBlockedOrDone() => Bounded.Until(() => !IsAlive || IsBlocked, "the thread ended or blocked");

    /// <summary>Waits for the thread to end (asserting that it does within <see cref="Bounded.Deadline"/>) and rethrows what it threw.</summary>
    public void Join()
    {
        Bounded.Join(_thread, "the race thread ended");
        if (_error is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_error);
        }
    }
}
