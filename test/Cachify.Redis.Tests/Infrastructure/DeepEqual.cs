using System.Collections;
using System.Reflection;
using Xunit.Sdk;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// Deep equality, runtime types included: two values are equal when every object in them has the same runtime type
/// and the same state. Objects are compared field by field (private fields too), collections item by item in order,
/// doubles bit for bit (NaN equals NaN, -0 is not 0), decimals with their scale, dates with their Kind or offset.
/// </summary>
internal static class DeepEqual
{
    public static void Assert(object? expected, object? actual) => Compare(expected, actual, "value", 0);

    private static void Compare(object? expected, object? actual, string path, int depth)
    {
        if (expected is null || actual is null)
        {
            if (expected is not null || actual is not null)
            {
                Fail(path, expected, actual);
            }

            return;
        }

        var type = expected.GetType();
        if (type != actual.GetType())
        {
            throw new XunitException($"{path}: expected a {type}, got a {actual.GetType()} ({actual}).");
        }

        if (depth > 32)
        {
            throw new XunitException($"{path}: nested too deep (a cycle?).");
        }

        switch (expected)
        {
            case double d:
                if (BitConverter.DoubleToInt64Bits(d) != BitConverter.DoubleToInt64Bits((double)actual) && !(double.IsNaN(d) && double.IsNaN((double)actual)))
                {
                    Fail(path, expected, actual);
                }

                return;
            case float f:
                if (BitConverter.SingleToInt32Bits(f) != BitConverter.SingleToInt32Bits((float)actual) && !(float.IsNaN(f) && float.IsNaN((float)actual)))
                {
                    Fail(path, expected, actual);
                }

                return;
            case decimal m:
                if (!decimal.GetBits(m).SequenceEqual(decimal.GetBits((decimal)actual)))
                {
                    Fail(path, expected, actual);
                }

                return;
            case DateTime t:
                if (t.Ticks != ((DateTime)actual).Ticks || t.Kind != ((DateTime)actual).Kind)
                {
                    Fail(path, expected, actual);
                }

                return;
            case DateTimeOffset o:
                if (!o.EqualsExact((DateTimeOffset)actual))
                {
                    Fail(path, expected, actual);
                }

                return;
            case string or Guid or TimeSpan or DateOnly or TimeOnly or Enum or Uri or Version:
                if (!expected.Equals(actual))
                {
                    Fail(path, expected, actual);
                }

                return;
        }

        if (type.IsPrimitive)
        {
            if (!expected.Equals(actual))
            {
                Fail(path, expected, actual);
            }

            return;
        }

        if (expected is IEnumerable items)
        {
            var left = items.Cast<object?>().ToList();
            var right = ((IEnumerable)actual).Cast<object?>().ToList();
            if (left.Count != right.Count)
            {
                throw new XunitException($"{path}: expected {left.Count} items, got {right.Count}.");
            }

            for (var i = 0; i < left.Count; i++)
            {
                Compare(left[i], right[i], $"{path}[{i}]", depth + 1);
            }

            return;
        }

        for (var current = type; current is not null && current != typeof(object) && current != typeof(ValueType); current = current.BaseType)
        {
            foreach (var field in current.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Compare(field.GetValue(expected), field.GetValue(actual), path + "." + field.Name, depth + 1);
            }
        }
    }

    private static void Fail(string path, object? expected, object? actual)
        => throw new XunitException($"{path}: expected {expected ?? "null"}, got {actual ?? "null"}.");
}
