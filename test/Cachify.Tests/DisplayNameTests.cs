using CachifyNet.Internal;

namespace CachifyNet.Tests;

/// <summary>
/// The name a function shows in metrics tags, logs and errors: lambdas and local functions are named after the method
/// that declares them, never by the compiler's names (<c>&lt;&gt;c.&lt;Run&gt;b__0_2</c>). Nested types keep the
/// reflection form <c>Outer+Inner</c>.
/// </summary>
public class DisplayNameTests
{
    [Fact]
    public void Lambda_IsNamedAfterTheMethodThatWrapsIt()
    {
        var service = new WeatherService(3);
        Assert.Equal("DisplayNameTests+WeatherService.GetForecast.lambda", NameOf(service.GetForecast()));
        Assert.Equal("DisplayNameTests+WeatherService.GetForecastCapturing.lambda", NameOf(service.GetForecastCapturing(2)));
        Assert.Equal("DisplayNameTests+WeatherService.GetForecast.Fetch", NameOf(service.LocalFunction()));
        Assert.Equal("DisplayNameTests+WeatherService.ctor.lambda", NameOf(service.FromConstructor));
        Assert.Equal("DisplayNameTests+WeatherService.cctor.lambda", NameOf(WeatherService.FromStaticField));
        Assert.Equal("DisplayNameTests+WeatherService.Compute", NameOf(service.Method()));
    }

    [Fact]
    public void Lambda_InAGenericType_IsNamedAfterTheType()
        => Assert.Equal("DisplayNameTests+Repository<T>.Load.lambda", NameOf(new Repository<string>().Load()));

    [Theory]
    [InlineData("GetUser", "GetUser")]
    [InlineData("<Run>b__0_2", "Run.lambda")]
    [InlineData("<.ctor>b__2", "ctor.lambda")]
    [InlineData("<Run>g__Fetch|0_1", "Run.Fetch")]
    [InlineData("<<Main>$>b__0_0", "Main.lambda")]
    [InlineData("<<Main>$>g__Fetch|0_1", "Main.Fetch")]
    [InlineData("<Main>$", "Main")]
    [InlineData("<broken", "<broken")]
    public void MemberName_ReadsCompilerGeneratedNames(string name, string expected)
        => Assert.Equal(expected, TypeNames.MemberName(name));

    [Fact]
    public void Error_NamesTheWrappingMethod()
    {
        using var fx = new MemoryFixture();
        var f = new WeatherService(1).KeyByNull().Backend(fx.Backend);
        var error = Assert.Throws<InvalidOperationException>(() => f.Invoke(1));
        Assert.Contains("DisplayNameTests+WeatherService.KeyByNull.lambda", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("<", error.Message, StringComparison.Ordinal);
    }

    private static string NameOf(Delegate func) => FunctionDescriptor.Create(func, out _).DisplayName;

    private sealed class Repository<T>
    {
        public Func<int, T?> Load() => id => default;
    }

    private sealed class WeatherService
    {
        public static readonly Func<int, int> FromStaticField = x => x + 1;

        private readonly int _offset;

        public WeatherService(int offset)
        {
            _offset = offset;
            FromConstructor = x => x + offset;
        }

        public Func<int, int> FromConstructor { get; }

        public Func<int, int> GetForecast() => x => x * 2;

        public Func<int, int> GetForecastCapturing(int factor) => x => x * factor;

        public Func<int, int> LocalFunction() => GetForecast(this);

        public Func<int, int> Method() => Compute;

        public CachedFunc<int, int> KeyByNull() => Cachify.Wrap((int x) => x).KeyBy(_ => null!);

        private static Func<int, int> GetForecast(WeatherService service)
        {
            return Fetch;

            int Fetch(int x) => x + service._offset;
        }

        private int Compute(int x) => x + _offset;
    }
}
