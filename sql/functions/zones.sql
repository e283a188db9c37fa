-- Service zones: the pickup's zone, the tariffs that apply at a point, the priced catalogue
-- (the same SQL dispatch.quote_price reads), and zone management for dispatchers and analysts.

CREATE OR REPLACE FUNCTION dispatch.zone_at(pickup geography)
RETURNS SETOF dispatch.service_zones
LANGUAGE sql
STABLE
PARALLEL SAFE
ROWS 1
-- A set-returning SQL function with one SELECT is inlined into its callers' plans (a function
-- returning one composite row is not, and was planned again on every quote: 10x the old cost).
AS $$
    -- The GiST index finds the candidates; on overlap the smallest zone is the most specific.
    SELECT z.* FROM dispatch.service_zones z
    WHERE ST_Intersects(z.geom, zone_at.pickup::geometry)
    ORDER BY z.area_m2, z.id
    LIMIT 1
$$;
COMMENT ON FUNCTION dispatch.zone_at(geography) IS
    'The service zone covering a point (boundary included): the smallest by geodesic area when '
    'zones overlap, lowest id on a tie; no row when no zone covers it.';

CREATE OR REPLACE FUNCTION dispatch.tariffs_at(pickup geography DEFAULT NULL)
RETURNS TABLE (
    service_type              text,
    vehicle_type              text,
    base_label                text,
    base_fare                 numeric,
    per_km                    numeric,
    currency                  text,
    minor_units               integer,
    final_price_on_completion boolean,
    zone_id                   bigint,
    zone_name                 text,
    serviceable               boolean
)
LANGUAGE sql
STABLE
AS $$
    SELECT t.service_type, t.vehicle_type, t.base_label,
           coalesce(zt.base_fare, t.base_fare), coalesce(zt.per_km, t.per_km),
           t.currency, coalesce(c.minor_units, 2)::integer, t.final_price_on_completion,
           z.id, z.name, coalesce(z.serviceable, true)
    FROM dispatch.tariffs t
    LEFT JOIN LATERAL dispatch.zone_at(tariffs_at.pickup) z ON true
    LEFT JOIN dispatch.zone_tariffs zt
           ON zt.zone_id = z.id AND zt.service_type = t.service_type
          AND zt.vehicle_type = t.vehicle_type
    LEFT JOIN dispatch.currencies c ON c.code = t.currency
$$;
COMMENT ON FUNCTION dispatch.tariffs_at(geography) IS
    'Every (service_type, vehicle_type) tariff as it applies at a point: the covering zone''s own '
    'row (dispatch.zone_at) or else the default (dispatch.tariffs), with currency and its minor '
    'units, the zone (NULL outside every zone) and whether it is serviceable. NULL point: the '
    'defaults. dispatch.quote_price and dispatch.service_catalogue both read it.';

CREATE OR REPLACE FUNCTION dispatch.service_catalogue(
    pickup geography,
    pickup_cell_r7 bigint DEFAULT NULL,
    neighbour_cells_r7 bigint[] DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    surge numeric := 1.0;
    zone  record;
BEGIN
    SELECT DISTINCT x.zone_id, x.zone_name, x.serviceable INTO zone
    FROM dispatch.tariffs_at(service_catalogue.pickup) x;
    IF NOT zone.serviceable THEN
        RAISE EXCEPTION 'This place is in %, an area without service.', zone.zone_name
            USING ERRCODE = 'DP020',
                  DETAIL = jsonb_build_object('zone', jsonb_build_object(
                      'id', zone.zone_id, 'name', zone.zone_name))::text;
    END IF;
    -- The surge over the same cells as dispatch.quote_price, with the same expression.
    IF service_catalogue.pickup_cell_r7 IS NOT NULL THEN
        surge := dispatch.surge_for_cells(array_append(
            coalesce(service_catalogue.neighbour_cells_r7, '{}'), service_catalogue.pickup_cell_r7));
    END IF;
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'service_type', x.service_type,
                   'vehicle_type', x.vehicle_type,
                   'label', x.base_label,
                   'base_fare', round(x.base_fare, x.minor_units),
                   'per_km', x.per_km,
                   'currency', x.currency,
                   'final_price_on_completion', x.final_price_on_completion,
                   'zone', CASE WHEN x.zone_id IS NULL THEN NULL
                                ELSE jsonb_build_object('id', x.zone_id, 'name', x.zone_name) END,
                   'surge_multiplier', surge)
                   ORDER BY x.service_type DESC, x.vehicle_type DESC), '[]')
        FROM dispatch.tariffs_at(service_catalogue.pickup) x
    );
END;
$$;
COMMENT ON FUNCTION dispatch.service_catalogue(geography, bigint, bigint[]) IS
    'The priced catalogue at a point: [{service_type, vehicle_type, label, base_fare, per_km, '
    'currency, final_price_on_completion, zone: {id, name} | null, surge_multiplier}] from '
    'dispatch.tariffs_at and the surge over pickup_cell_r7 and neighbour_cells_r7, exactly as '
    'dispatch.quote_price prices a job there. DP020 in a zone that is not serviceable.';

CREATE OR REPLACE FUNCTION dispatch.zone_geometry(geojson jsonb)
RETURNS geometry
LANGUAGE plpgsql
IMMUTABLE
AS $$
DECLARE
    g      geometry;
    reason text;
    edge   geometry;
BEGIN
    IF geojson IS NULL OR jsonb_typeof(geojson) <> 'object'
       OR geojson ->> 'type' IS NULL OR geojson ->> 'type' NOT IN ('Polygon', 'MultiPolygon') THEN
        reason := 'Must be a GeoJSON Polygon or MultiPolygon.';
    ELSE
        BEGIN
            g := ST_SetSRID(ST_GeomFromGeoJSON(geojson::text), 4326);
        EXCEPTION WHEN OTHERS THEN
            -- PostGIS parse messages name internals; the client gets a plain sentence.
            reason := 'Not a well-formed GeoJSON Polygon or MultiPolygon (rings need 4 or more '
                      'positions, the last equal to the first).';
        END;
    END IF;
    IF reason IS NULL AND (ST_IsEmpty(g) OR GeometryType(g) NOT IN ('POLYGON', 'MULTIPOLYGON')) THEN
        reason := 'Must be a non-empty Polygon or MultiPolygon.';
    END IF;
    IF reason IS NULL AND (ST_XMin(g) < -180 OR ST_XMax(g) > 180
                           OR ST_YMin(g) < -90 OR ST_YMax(g) > 90) THEN
        reason := 'Coordinates must be [longitude, latitude] within -180..180 and -90..90.';
    END IF;
    IF reason IS NULL AND EXISTS (
        SELECT 1 FROM ST_Dump(g) part CROSS JOIN LATERAL ST_DumpRings(part.geom) ring
        WHERE ST_NPoints(ring.geom) < 4 OR NOT ST_IsClosed(ST_ExteriorRing(ring.geom))) THEN
        reason := 'Every ring needs 4 or more positions, the last equal to the first.';
    END IF;
    IF reason IS NULL AND ST_NDims(g) <> 2 THEN
        reason := 'Positions are [longitude, latitude]: two numbers, no altitude.';
    END IF;
    -- Coverage reads an edge as a straight line in longitude and latitude (ST_Intersects on
    -- geometry), the area as a great circle (geography): they agree only while an edge spans
    -- less than half the globe. An edge from 179.5 to -179.5 is the 359 degrees westward to
    -- coverage and 1 degree eastward to the area (a strip on the antimeridian covered Algiers);
    -- -180 to 180 or pole to pole is "antipodal" to geography, which raises (the whole world).
    IF reason IS NULL THEN
        SELECT s.geom INTO edge FROM ST_DumpSegments(g) s
         WHERE ST_XMax(s.geom) - ST_XMin(s.geom) >= 180 OR ST_YMax(s.geom) - ST_YMin(s.geom) >= 180
         LIMIT 1;
        IF FOUND THEN
            reason := format('Every edge must span less than 180 degrees of longitude and of '
                             'latitude ([%s, %s] to [%s, %s] does not): split a zone that crosses '
                             'the antimeridian into a MultiPolygon at 180 and -180.',
                             ST_X(ST_StartPoint(edge)), ST_Y(ST_StartPoint(edge)),
                             ST_X(ST_EndPoint(edge)), ST_Y(ST_EndPoint(edge)));
        END IF;
    END IF;
    IF reason IS NULL AND ST_IsValidReason(g) <> 'Valid Geometry' THEN
        -- GEOS may prefix its reason with its exception class: the reason is what follows.
        reason := regexp_replace(ST_IsValidReason(g), '^[A-Za-z]+Exception: ', '');
    END IF;
    IF reason IS NOT NULL THEN
        RAISE EXCEPTION 'The zone geometry is invalid: %', reason
            USING ERRCODE = 'DP022',
                  DETAIL = jsonb_build_object('fields', jsonb_build_object(
                      'geometry', jsonb_build_array(reason)))::text;
    END IF;
    RETURN ST_Multi(g);
END;
$$;
COMMENT ON FUNCTION dispatch.zone_geometry(jsonb) IS
    'A GeoJSON Polygon or MultiPolygon (lng/lat, WGS 84, 2-D) as a valid MultiPolygon geometry; '
    'DP022 with the reason otherwise: ST_IsValidReason for invalid or self-intersecting shapes, '
    'and any edge spanning 180 degrees or more of longitude or latitude (coverage and geodesic '
    'area would disagree: a zone crossing the antimeridian is split into a MultiPolygon).';

CREATE OR REPLACE FUNCTION dispatch.zone_json(zone_id bigint)
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT jsonb_build_object(
        'id', z.id,
        'name', z.name,
        'geometry', ST_AsGeoJSON(z.geom)::jsonb,
        'serviceable', z.serviceable,
        'area_km2', round((z.area_m2 / 1e6)::numeric, 3),
        'tariffs', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                               'service_type', zt.service_type, 'vehicle_type', zt.vehicle_type,
                               'base_fare', zt.base_fare, 'per_km', zt.per_km)
                           ORDER BY zt.service_type DESC, zt.vehicle_type DESC), '[]')
                      FROM dispatch.zone_tariffs zt WHERE zt.zone_id = z.id),
        'created_at', dispatch.iso_utc(z.created_at),
        'updated_at', dispatch.iso_utc(z.updated_at)
    )
    FROM dispatch.service_zones z
    WHERE z.id = zone_json.zone_id
$$;
COMMENT ON FUNCTION dispatch.zone_json(bigint) IS
    'A zone as the API shows it: {id, name, geometry (GeoJSON MultiPolygon), serviceable, '
    'area_km2, tariffs: [{service_type, vehicle_type, base_fare, per_km}], created_at, '
    'updated_at}; NULL for an unknown id.';

CREATE OR REPLACE FUNCTION dispatch.list_zones()
RETURNS jsonb
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(jsonb_agg(dispatch.zone_json(z.id) ORDER BY z.id), '[]')
    FROM dispatch.service_zones z
$$;
COMMENT ON FUNCTION dispatch.list_zones() IS 'Every service zone (dispatch.zone_json), by id.';

-- Replace a zone's tariff rows with [{service_type, vehicle_type, base_fare, per_km}] (internal).
CREATE OR REPLACE FUNCTION dispatch.set_zone_tariffs(zone_id bigint, tariffs jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    IF tariffs IS NOT NULL AND jsonb_typeof(tariffs) <> 'array' THEN
        RAISE EXCEPTION 'tariffs must be a list.' USING ERRCODE = 'DP009';
    END IF;
    DELETE FROM dispatch.zone_tariffs zt WHERE zt.zone_id = set_zone_tariffs.zone_id;
    INSERT INTO dispatch.zone_tariffs (zone_id, service_type, vehicle_type, base_fare, per_km)
    SELECT set_zone_tariffs.zone_id, x.service_type, x.vehicle_type, x.base_fare, x.per_km
    FROM jsonb_to_recordset(coalesce(tariffs, '[]')) AS x(service_type text, vehicle_type text,
                                                          base_fare numeric, per_km numeric);
END;
$$;
COMMENT ON FUNCTION dispatch.set_zone_tariffs(bigint, jsonb) IS
    'Internal: replace a zone''s tariff rows with the given list.';

CREATE OR REPLACE FUNCTION dispatch.create_zone(
    name text,
    geometry jsonb,
    serviceable boolean DEFAULT true,
    tariffs jsonb DEFAULT '[]'
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO dispatch.service_zones (name, geom, serviceable)
    VALUES (create_zone.name, dispatch.zone_geometry(create_zone.geometry),
            coalesce(create_zone.serviceable, true))
    RETURNING id INTO new_id;
    PERFORM dispatch.set_zone_tariffs(new_id, create_zone.tariffs);
    RETURN dispatch.zone_json(new_id);
END;
$$;
COMMENT ON FUNCTION dispatch.create_zone(text, jsonb, boolean, jsonb) IS
    'Create a service zone from a GeoJSON Polygon or MultiPolygon with its own tariffs '
    '([{service_type, vehicle_type, base_fare, per_km}]); returns dispatch.zone_json. DP022 '
    'invalid geometry (with the reason), unique violation service_zones_name_key for a taken name.';

CREATE OR REPLACE FUNCTION dispatch.update_zone(
    zone_id bigint,
    name text DEFAULT NULL,
    geometry jsonb DEFAULT NULL,
    serviceable boolean DEFAULT NULL,
    tariffs jsonb DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    UPDATE dispatch.service_zones z
       SET name = coalesce(update_zone.name, z.name),
           geom = CASE WHEN update_zone.geometry IS NULL THEN z.geom
                       ELSE dispatch.zone_geometry(update_zone.geometry) END,
           serviceable = coalesce(update_zone.serviceable, z.serviceable),
           updated_at = now()
     WHERE z.id = update_zone.zone_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Service zone not found.' USING ERRCODE = 'DP023';
    END IF;
    IF update_zone.tariffs IS NOT NULL THEN
        PERFORM dispatch.set_zone_tariffs(update_zone.zone_id, update_zone.tariffs);
    END IF;
    RETURN dispatch.zone_json(update_zone.zone_id);
END;
$$;
COMMENT ON FUNCTION dispatch.update_zone(bigint, text, jsonb, boolean, jsonb) IS
    'Change a zone: each argument given (not NULL) replaces the stored value, tariffs as a whole '
    'list. DP023 unknown zone, DP022 invalid geometry.';

CREATE OR REPLACE FUNCTION dispatch.delete_zone(zone_id bigint)
RETURNS void
LANGUAGE plpgsql
VOLATILE
AS $$
BEGIN
    DELETE FROM dispatch.service_zones z WHERE z.id = delete_zone.zone_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Service zone not found.' USING ERRCODE = 'DP023';
    END IF;
END;
$$;
COMMENT ON FUNCTION dispatch.delete_zone(bigint) IS
    'Delete a zone and its tariffs (pickups there fall back to the enclosing zone or the '
    'default tariffs). DP023 unknown zone.';
