using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CachifyNet.Internal;

/// <summary>What every backend owns: its clock, its scheduler, its logger and its keyspaces.</summary>
internal sealed class BackendServices : IDisposable
{
    private readonly ConcurrentDictionary<object, object> _keyspaces = new();
    private readonly CancellationTokenSource _stopping = new();

    public BackendServices(TimeProvider? time, ILoggerFactory? loggerFactory)
    {
        Time = time ?? TimeProvider.System;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Cachify");
        Scheduler = new Scheduler(Time, Logger);
    }

    public TimeProvider Time { get; }

    public ILogger Logger { get; }

    public Scheduler Scheduler { get; }

    /// <summary>Cancelled when the backend is disposed.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public bool IsDisposed => _stopping.IsCancellationRequested;

    public long Now => Time.GetTimestamp();

    /// <summary>Converts a duration to clock ticks exactly; <see cref="Timeout.InfiniteTimeSpan"/> becomes <see cref="long.MaxValue"/>.</summary>
    public long ToTicks(TimeSpan span)
    {
        if (span == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        var frequency = Time.TimestampFrequency;
        return frequency == TimeSpan.TicksPerSecond ? span.Ticks : (long)((Int128)span.Ticks * frequency / TimeSpan.TicksPerSecond);
    }

    /// <summary>Converts clock ticks to a duration.</summary>
    public TimeSpan ToTimeSpan(long ticks)
    {
        var frequency = Time.TimestampFrequency;
        return TimeSpan.FromTicks(frequency == TimeSpan.TicksPerSecond ? ticks : (long)((Int128)ticks * TimeSpan.TicksPerSecond / frequency));
    }

    /// <summary>The keyspace registered under <paramref name="id"/>, created on first use.</summary>
    public Keyspace<TKey, TValue> GetKeyspace<TKey, TValue>(object id, string displayName, Func<Keyspace<TKey, TValue>> create)
        where TKey : struct, IArgsKey<TKey>
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var keyspace = _keyspaces.GetOrAdd(id, static (_, create) => create(), create);
        return keyspace as Keyspace<TKey, TValue> ?? throw new ArgumentException(
            $"The name \"{displayName}\" is already used by another function whose arguments or result differ. Give each function its own name.");
    }

    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }

        _stopping.Cancel();
        Scheduler.Dispose();
    }

}
