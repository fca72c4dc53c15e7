using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace CachifyNet.Redis.Tests;

/// <summary>Captures what Cachify logs.</summary>
internal sealed class ListLoggerFactory : ILoggerFactory, ILogger
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message, Exception? Error)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull
        => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Entries.Enqueue((logLevel, eventId.Id, formatter(state, exception), exception));

    public void Dispose()
    {
    }
}

/// <summary>Counts <c>cachify.backend.errors</c> of one function (tests run in parallel, so it filters by the function tag).</summary>
internal sealed class BackendErrorCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, int> _byOperation = new();

    public BackendErrorCounter(string function)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Cachify" && instrument.Name == "cachify.backend.errors")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? name = null;
            string? operation = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "cachify.function")
                {
                    name = tag.Value as string;
                }
                else if (tag.Key == "cachify.operation")
                {
                    operation = tag.Value as string;
                }
            }

            if (name == function && operation is not null)
            {
                _byOperation.AddOrUpdate(operation, (int)value, (_, n) => n + (int)value);
            }
        });
        _listener.Start();
    }

    public int Count(string operation) => _byOperation.TryGetValue(operation, out var n) ? n : 0;

    public int Total => _byOperation.Values.Sum();

    public void Dispose() => _listener.Dispose();
}

/// <summary>Counts never-die refreshes of one function by outcome (<c>cachify.refresh.successes</c> and <c>.failures</c>).</summary>
internal sealed class RefreshCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private int _successes;
    private int _failures;

    public RefreshCounter(string function)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Cachify" && instrument.Name is "cachify.refresh.successes" or "cachify.refresh.failures")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "cachify.function" && tag.Value as string == function)
                {
                    if (instrument.Name == "cachify.refresh.successes")
                    {
                        Interlocked.Add(ref _successes, (int)value);
                    }
                    else
                    {
                        Interlocked.Add(ref _failures, (int)value);
                    }
                }
            }
        });
        _listener.Start();
    }

    public int Successes => Volatile.Read(ref _successes);

    public int Failures => Volatile.Read(ref _failures);

    public void Dispose() => _listener.Dispose();
}
