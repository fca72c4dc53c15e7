using System.Buffers;
using System.Text.Json;

namespace CachifyNet.Redis.Tests;

public class SystemTextJsonCacheSerializerTests
{
    [Fact]
    public void RoundTrip_RecordsCollectionsAndPrimitives()
    {
        Assert.Equal(new Order(7, ["a", "b"], 12.5m), RoundTrip(new Order(7, ["a", "b"], 12.5m)), OrderComparer.Instance);
        Assert.Equal(42, RoundTrip(42));
        Assert.Equal("text", RoundTrip("text"));
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2)), RoundTrip(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2))));
    }

    [Fact]
    public void Serialize_WritesNoTypeName()
    {
        var buffer = new ArrayBufferWriter<byte>();
        SystemTextJsonCacheSerializer.Default.Serialize(new Order(1, [], 0m), buffer);
        Assert.Equal("{\"Id\":1,\"Items\":[],\"Total\":0}", System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void Options_AreUsed()
    {
        var serializer = new SystemTextJsonCacheSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web));
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(new Order(1, [], 0m), buffer);
        Assert.StartsWith("{\"id\":1", System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan), StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_WrongShape_Throws()
    {
        Assert.ThrowsAny<JsonException>(() => SystemTextJsonCacheSerializer.Default.Deserialize<Order>("\"text\""u8));
    }

    [Fact]
    public void Serialize_LoneSurrogate_ThrowsInsteadOfWritingReplacementCharacter()
    {
        Assert.Throws<JsonException>(() => SystemTextJsonCacheSerializer.Default.Serialize("a\uD800", new ArrayBufferWriter<byte>()));
        Assert.Throws<JsonException>(() => SystemTextJsonCacheSerializer.Default.Serialize(new Dictionary<string, int> { ["\uDC00"] = 1 }, new ArrayBufferWriter<byte>()));
        Assert.Throws<JsonException>(() => SystemTextJsonCacheSerializer.Default.Serialize("\uD83D\uD83D\uDE00", new ArrayBufferWriter<byte>()));
        Assert.Equal("x😀y😀", RoundTrip("x😀y😀"));
    }

    [Fact]
    public void RoundTrip_PrivateSetterDeclaredOnABaseClass_IsSet()
    {
        var back = RoundTrip(Derived.Create(5, "d"));

        Assert.Equal(5, back.Id);
        Assert.Equal("d", back.Name);
    }

    [Fact]
    public void Options_SourceGeneratedContext_GetsTheRoundTripSettingsAndFeedsTheAnalysis()
    {
        var serializer = new SystemTextJsonCacheSerializer(new JsonSerializerOptions { TypeInfoResolver = TestJsonContext.Default });
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(Derived.Create(3, "s"), buffer);
        var back = serializer.Deserialize<Derived>(buffer.WrittenSpan);

        Assert.Equal((3, "s"), (back.Id, back.Name));
        Assert.Null(CachifyNet.Internal.ResultContract.For(typeof(Derived), serializer.Options).Refusal);
        Assert.Contains("cannot be serialized", CachifyNet.Internal.ResultContract.For(typeof(Order), serializer.Options).Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_GivenOptionsAreNotChanged()
    {
        var given = new JsonSerializerOptions();
        _ = new SystemTextJsonCacheSerializer(given);

        Assert.False(given.IncludeFields);
        Assert.False(given.IsReadOnly);
    }

    private static T RoundTrip<T>(T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        SystemTextJsonCacheSerializer.Default.Serialize(value, buffer);
        return SystemTextJsonCacheSerializer.Default.Deserialize<T>(buffer.WrittenSpan);
    }

    public sealed record Order(int Id, string[] Items, decimal Total);

    public class Base
    {
        public int Id { get; private set; }

        protected void SetId(int id) => Id = id;
    }

    public sealed class Derived : Base
    {
        public string Name { get; private set; } = "";

        public static Derived Create(int id, string name)
        {
            var value = new Derived { Name = name };
            value.SetId(id);
            return value;
        }
    }

    private sealed class OrderComparer : IEqualityComparer<Order>
    {
        public static readonly OrderComparer Instance = new();

        public bool Equals(Order? x, Order? y) => x!.Id == y!.Id && x.Total == y.Total && x.Items.SequenceEqual(y.Items);

        public int GetHashCode(Order obj) => obj.Id;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(SystemTextJsonCacheSerializerTests.Derived))]
internal sealed partial class TestJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
