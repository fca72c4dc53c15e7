namespace CachifyNet.Demo;

/// <summary>A slow synchronous function.</summary>
public static class Weather
{
    public static string GetForecast(string city)
    {
        Thread.Sleep(500);
        return city == "Oslo" ? "snow, -3 C" : "sunny, 21 C";
    }
}

/// <summary>An exchange-rate service that can go down.</summary>
public sealed class RateSource(Func<string> clock)
{
    private decimal _rate = 1.10m;

    public volatile bool Healthy = true;

    public async Task<decimal> FetchAsync(string currency)
    {
        await Task.Delay(20);
        if (!Healthy)
        {
            Console.WriteLine($"{clock()}     source called for {currency}: FAILS (service unavailable)");
            throw new HttpRequestException("Rate service unavailable.");
        }

        var rate = _rate;
        _rate += 0.02m;
        Console.WriteLine($"{clock()}     source called for {currency}: returns {rate}");
        return rate;
    }
}

/// <summary>A catalog whose prices go up on every request.</summary>
public sealed class Catalog
{
    private int _calls;

    public int Calls => Volatile.Read(ref _calls);

    public async Task<decimal> GetPriceAsync(string sku)
    {
        var call = Interlocked.Increment(ref _calls);
        await Task.Delay(200);
        return 9.99m + ((call - 1) * 0.50m);
    }
}
