package com.isdp.irtc;

/** The engine CreateVideoEngine.create makes (guide §7.2.2): ISDP, irtc's native engine. */
public enum EngineType {
    ISDP
}
