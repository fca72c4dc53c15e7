using System.Diagnostics.Metrics;

namespace CachifyNet.Conformance;

/// <summary>
/// Counts the calls of one function that joined an execution another caller started: the <c>cachify.stampede.joins</c>
/// counter of the "Cachify" meter, for the <c>cachify.function</c> tag. A test waits for it to know that every caller
/// is waiting for the execution (a store may read its storage before a caller joins, so returning from
/// <c>Invoke</c> is not enough).
/// </summary>
public sealed class StampedeJoins : IDisposable
{
    private readonly MeterListener _listener = new();
    private int _joins;

    /// <summary>Starts counting the joins of the function named <paramref name="function"/>.</summary>
    public StampedeJoins(string function)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Cachify" && instrument.Name == "cachify.stampede.joins")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "cachify.function" && (string?)tag.Value == function)
                {
                    Interlocked.Add(ref _joins, (int)value);
                }
            }
        });
        _listener.Start();
    }

    /// <summary>The joins so far.</summary>
    public int Count => Volatile.Read(ref _joins);

    /// <summary>Stops counting.</summary>
    public void Dispose() => _listener.Dispose();
}
