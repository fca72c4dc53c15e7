using CachifyNet;
using Microsoft.Extensions.Options;

namespace CachifyNet.WebApi;

/// <summary>A forecast.</summary>
/// <param name="City">The city.</param>
/// <param name="TemperatureC">The temperature in °C.</param>
/// <param name="ComputedAt">When the slow service computed it.</param>
public sealed record Forecast(string City, int TemperatureC, DateTimeOffset ComputedAt);

/// <summary>Settings of the slow service.</summary>
public sealed class WeatherOptions
{
    /// <summary>Gets or sets how long a forecast takes to compute.</summary>
    public int DelayMilliseconds { get; set; } = 500;
}

/// <summary>The slow dependency: every call takes <see cref="WeatherOptions.DelayMilliseconds"/> on the app's <see cref="TimeProvider"/>.</summary>
public sealed class WeatherService(IOptions<WeatherOptions> options, TimeProvider time)
{
    private int _calls;

    /// <summary>Gets how many forecasts were computed.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Computes a forecast (slowly).</summary>
    /// <param name="city">The city.</param>
    /// <param name="cancellationToken">Cancels the computation (when every caller waiting for it has gone).</param>
    /// <returns>The forecast.</returns>
    public async Task<Forecast> GetForecastAsync(string city, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        await Task.Delay(TimeSpan.FromMilliseconds(options.Value.DelayMilliseconds), time, cancellationToken);
        return new Forecast(city, Math.Abs(city.GetHashCode(StringComparison.OrdinalIgnoreCase) % 35), time.GetUtcNow());
    }
}

/// <summary>The cached forecast: one wrapper, built once from the app's <see cref="ICachify"/>.</summary>
public sealed class CachedWeather(ICachify cachify, WeatherService service)
{
    /// <summary>Gets the cached function: concurrent requests for one city share one computation.</summary>
    public CancellableAsyncCachedFunc<string, Forecast> Forecast { get; } =
        cachify.Wrap((string city, CancellationToken cancellationToken) => service.GetForecastAsync(city, cancellationToken)).Named("weather.forecast").NoSelf();
}
