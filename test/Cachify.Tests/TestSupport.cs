using System.Diagnostics;
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
    public int ScheduledEntries => Backend.ScheduledEntries;

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

    /// <summary>Spins (yielding) until <paramref name="condition"/> holds; fails after 30 s. For conditions driven by other threads.</summary>
    public static void Until(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        var spinner = default(SpinWait);
        while (!condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            spinner.SpinOnce();
        }
    }

    /// <summary>Yields until <paramref name="condition"/> holds; fails after 30 s. For conditions driven by background work.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("Timed out waiting until " + what);
            }

            await Task.Yield();
        }
    }
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
    public void WaitForTimers(int total) => Internals.Until(() => TimersCreated >= total, $"{total} timers were created");
}

/// <summary>Tests that change <see cref="Cachify.DefaultTtl"/> or <see cref="Cachify.DefaultBackend"/> run alone.</summary>
[CollectionDefinition(nameof(GlobalDefaults), DisableParallelization = true)]
public sealed class GlobalDefaults;
