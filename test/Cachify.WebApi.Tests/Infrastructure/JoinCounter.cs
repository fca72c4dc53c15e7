using System.Diagnostics.Metrics;

namespace CachifyNet.WebApi.Tests;

/// <summary>Counts Cachify's stampede joins (or another counter, <paramref name="counter"/>) of one function; <see cref="Reached"/> completes at <paramref name="target"/>.</summary>
internal sealed class JoinCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _joins;

    public JoinCounter(string function, int target, string counter = "cachify.stampede.joins")
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Cachify" && instrument.Name == counter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "cachify.function" && (string?)tag.Value == function && Interlocked.Add(ref _joins, (int)value) >= target)
                {
                    _reached.TrySetResult();
                }
            }
        });
        _listener.Start();
    }

    public Task Reached => _reached.Task;

    public void Dispose() => _listener.Dispose();
}
