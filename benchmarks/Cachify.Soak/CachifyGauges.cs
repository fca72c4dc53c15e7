using System.Diagnostics.Metrics;

namespace CachifyNet.Soak;

/// <summary>
/// Reads the gauges of the "Cachify" meter (lock tables, scheduled entries, entries held, lock waiters) the way a metrics
/// exporter does: a <see cref="MeterListener"/> that records the observable instruments on demand. Only those are
/// enabled, so the counters of the call path cost the workers nothing.
/// </summary>
public sealed class CachifyGauges : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<GaugeReading> _readings = [];

    public CachifyGauges()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CachifyTelemetry.Name && instrument.IsObservable)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? backend = null, function = null;
            foreach (var tag in tags)
            {
                if (tag.Key == CachifyTelemetry.BackendTag)
                {
                    backend = tag.Value as string;
                }
                else if (tag.Key == CachifyTelemetry.FunctionTag)
                {
                    function = tag.Value as string;
                }
            }

            _readings.Add(new GaugeReading(instrument.Name, backend, function, value));
        });
        _listener.Start();
    }

    /// <summary>Observes every gauge once.</summary>
    public IReadOnlyList<GaugeReading> Read()
    {
        lock (_readings)
        {
            _readings.Clear();
            _listener.RecordObservableInstruments();
            return [.. _readings];
        }
    }

    public void Dispose() => _listener.Dispose();
}

public readonly record struct GaugeReading(string Instrument, string? Backend, string? Function, long Value);

public static class GaugeReadings
{
    /// <summary>The sum of the readings of <paramref name="instrument"/> for <paramref name="backend"/> (and <paramref name="function"/> when given).</summary>
    public static long Sum(this IReadOnlyList<GaugeReading> readings, string instrument, string backend, Func<string?, bool>? function = null)
        => readings.Where(r => r.Instrument == instrument && r.Backend == backend && (function is null || function(r.Function))).Sum(r => r.Value);
}
